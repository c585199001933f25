import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol
import HVSystem

extension IsoCommand {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an image you download or already have: the broker checks it before keeping it.",
            discussion: """
                A URL is downloaded with your rights and resumes where it stopped if you run the command again;
                a file (./debian.iso) is opened with your rights. Either way the broker receives only the open
                file, never a path: it checks the size limit, the SHA-256 and (with --signature) a detached
                signature against the administrator's keyring. A mismatch keeps nothing.
                """
        )
        @OptionGroup var options: GlobalOptions
        @OptionGroup var upload: UploadOptions
        @Option(help: "Its name in the library (default: the URL's file name).") var name: String?
        @Option(help: "A detached OpenPGP signature file (.sig or .asc) of the image.") var signature: String?

        func run() async throws {
            let (source, sha256) = (upload.source, upload.sha256)
            let name = name ?? source.fileName
            do {
                try IsoName.validate(name, field: "--name")
                try Sha256Text.validate(sha256, field: "--sha256")
            } catch {
                Runner.fail(error)
            }
            if options.explain { Runner.explainOnly(.isoAdd(upload.url, name, local: source.isLocalFile)) }
            let signatureText = try signature.map(Self.readSignature)
            let file = try await source.open(name: name, sha256: sha256)
            do {
                let reply = try DescriptorPassing.call(
                    Method.isoAdd, IsoAddParameters(name: name, sha256: sha256, source: file.source, signature: signatureText),
                    descriptor: file.descriptor, socketPath: upload.socketPath(options), as: IsoReply.self
                )
                if let downloaded = file.downloaded { try? FileManager.default.removeItem(atPath: downloaded) }
                if options.json { return Runner.printJSON(reply.iso) }
                let iso = reply.iso
                let group = iso.group.map { ", group \($0)" } ?? ""
                print(
                    "added \(iso.name) (\(iso.size.readable), \(iso.allocated.readable) on disk\(group), SHA-256 verified"
                        + "\(iso.signatureVerified ? ", signature verified" : ""))"
                )
            } catch {
                Runner.fail(error)
            }
        }

        static func readSignature(_ path: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: path), !data.isEmpty, data.count <= 64 * 1024 else {
                throw ValidationError("--signature: cannot read '\(path)' (or it is empty or over 64 KiB)")
            }
            return data.base64EncodedString()
        }
    }
}
