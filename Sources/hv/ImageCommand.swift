import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Cloud images as templates: qcow2 or raw disk images machines are made from.",
        discussion: """
            An imported image is a template volume of the broker's pool: list it with 'hv pool volumes'
            (TEMPLATE column), use it in a spec with 'template: NAME' (with cloud_init for a hostname and
            your SSH key), delete it with 'hv pool delete-volume NAME'.
            """,
        subcommands: [Import.self]
    )

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a cloud image you download or already have as a template.",
            discussion: """
                A URL is downloaded with your rights and resumes where it stopped if you run the command again;
                a file (./debian-12.qcow2) is opened with your rights. Either way the broker receives only the open
                file, never a path. It keeps the image only if the SHA-256 of what it stored matches and qemu-img
                finds a self-contained image of the stated format: a backing file, an external data file, another
                format or a virtual size over the host's disk limit is refused. A raw image is stored as qcow2.
                What it occupies counts toward your group's images total.
                """
        )
        @OptionGroup var options: GlobalOptions
        @OptionGroup var upload: UploadOptions
        @Option(help: "The template's name, as a spec's 'template:' names it.") var name: String
        @Option(help: "qcow2 or raw (default: what the image's first bytes say).") var format: String?
        @Option(help: "The group it is charged to, one you are in (default: your group).") var group: String?

        func run() async throws {
            let (source, sha256) = (upload.source, upload.sha256)
            do {
                try ImageImportParameters(name: name, sha256: sha256, format: format, group: group).validate()
            } catch {
                Runner.fail(error)
            }
            if options.explain { Runner.explainOnly(.imageImport(upload.url, name, format: format, local: source.isLocalFile)) }
            let file = try await source.open(name: name, sha256: sha256)
            do {
                let reply = try DescriptorPassing.call(
                    Method.imageImport,
                    ImageImportParameters(name: name, sha256: sha256, format: format, group: group, source: file.source),
                    descriptor: file.descriptor, socketPath: upload.socketPath(options), as: ImageImportReply.self
                )
                if let downloaded = file.downloaded { try? FileManager.default.removeItem(atPath: downloaded) }
                if options.json { return Runner.printJSON(reply.image) }
                print(Self.summary(reply.image))
            } catch {
                Runner.fail(error)
            }
        }

        /// What a kept import is reported as.
        static func summary(_ image: ImportedImageInfo) -> String {
            let converted = image.sourceFormat == "qcow2" ? "" : ", converted from \(image.sourceFormat)"
            return "imported \(image.name) as a template of pool \(image.pool) (\(image.virtualSize.readable) virtual, "
                + "\(image.allocated.readable) on disk, group \(image.group), SHA-256 verified\(converted)); "
                + "use it in a spec with 'template: \(image.name)'"
        }
    }
}
