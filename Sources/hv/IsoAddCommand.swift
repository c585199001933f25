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
        @Argument(help: "An http:// or https:// URL of the image, or a file you can read.") var url: String
        @Option(help: "The image's SHA-256, as the publisher lists it.") var sha256: String
        @Option(help: "Its name in the library (default: the URL's file name).") var name: String?
        @Option(help: "A detached OpenPGP signature file (.sig or .asc) of the image.") var signature: String?
        @Option(help: "Where partial downloads are kept (default: $XDG_CACHE_HOME/hv or ~/.cache/hv).") var cacheDir: String?
        @Option(help: "The broker's upload socket (default: $HV_UPLOAD_SOCKET, or upload.sock beside the broker socket).")
        var uploadSocket: String?

        /// Whether the argument names a file rather than a URL to download.
        var isLocalFile: Bool { !(url.hasPrefix("http://") || url.hasPrefix("https://")) }

        func run() async throws {
            let name = name ?? (isLocalFile ? (url as NSString).lastPathComponent : URL(string: url)?.lastPathComponent ?? "")
            do {
                try IsoName.validate(name, field: "--name")
                try Sha256Text.validate(sha256, field: "--sha256")
            } catch {
                Runner.fail(error)
            }
            if options.explain { Runner.explainOnly(.isoAdd(url, name, local: isLocalFile)) }
            let signatureText = try signature.map(Self.readSignature)
            if isLocalFile {
                return try hand(try openLocalFile(), name: name, source: nil, signature: signatureText, downloaded: nil)
            }
            let cache = try cacheDirectory()
            let destination = cache + "/" + name
            nonisolated(unsafe) let bar = ProgressBar(label: name)
            let download: DownloadResult
            do {
                download = try await IsoDownload.fetch(url: url, to: destination, expectedSHA256: sha256) { received, total in
                    bar.update(received: received, total: total)
                }
                bar.finish()
            } catch {
                bar.finish()
                Runner.fail(error.hvError)
            }
            let descriptor: Descriptor
            do {
                descriptor = try Descriptor.open(download.path, O_RDONLY)
            } catch {
                Runner.fail(HVError(.failed, error.description))
            }
            try hand(descriptor, name: name, source: url, signature: signatureText, downloaded: download.path)
        }

        /// Hands the open image to the broker; a download is removed from the cache once kept.
        func hand(_ descriptor: Descriptor, name: String, source: String?, signature: String?, downloaded: String?) throws {
            do {
                let reply = try DescriptorPassing.call(
                    Method.isoAdd, IsoAddParameters(name: name, sha256: sha256, source: source, signature: signature),
                    descriptor: descriptor, socketPath: uploadSocketPath(), as: IsoReply.self
                )
                if let downloaded { try? FileManager.default.removeItem(atPath: downloaded) }
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

        /// The file named on the command line, opened read-only with the caller's rights.
        func openLocalFile() throws -> Descriptor {
            let path = url.hasPrefix("file://") ? String(url.dropFirst("file://".count)) : url
            do {
                let descriptor = try Descriptor.open(path, O_RDONLY | O_NONBLOCK)
                guard (try descriptor.status().st_mode & S_IFMT) == S_IFREG else {
                    Runner.fail(HVError(
                        .invalidParameter, "'\(path)' is not a regular file", fix: "give the image file itself, or an http(s):// URL to download",
                        details: ["field": "url"]))
                }
                return descriptor
            } catch {
                Runner.fail(HVError(
                    .invalidParameter, "\(error)", fix: "give a file you can read, or an http(s):// URL to download", details: ["field": "url"]))
            }
        }

        static func readSignature(_ path: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: path), !data.isEmpty, data.count <= 64 * 1024 else {
                throw ValidationError("--signature: cannot read '\(path)' (or it is empty or over 64 KiB)")
            }
            return data.base64EncodedString()
        }

        func cacheDirectory() throws -> String {
            let environment = ProcessInfo.processInfo.environment
            let directory = cacheDir ?? environment["XDG_CACHE_HOME"].map { $0 + "/hv" }
                ?? environment["HOME"].map { $0 + "/.cache/hv" } ?? "/var/tmp/hv-\(getuid())"
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw ValidationError("cannot create the download directory \(directory): \(error.localizedDescription); pass --cache-dir")
            }
            return directory
        }

        func uploadSocketPath() -> String {
            UploadSocket.path(uploadSocket, options)
        }
    }
}
