import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol

struct IsoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iso", abstract: "The ISO library: images machines boot from, checked by SHA-256.",
        subcommands: [List.self, Add.self, Verify.self, Remove.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the images in the library.")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            try Runner.run(options, explain: .isoList()) { client throws(HVError) in
                let library = try client.isoLibrary()
                let isos = library.isos
                if options.json { return Runner.printJSON(isos) }
                var table = Table("NAME", "SIZE", "ON DISK", "GROUP", "SHA-256", "SIGNED", "ADDED")
                for iso in isos {
                    let added = Date(timeIntervalSince1970: TimeInterval(iso.added)).formatted(.iso8601)
                    table.add(
                        iso.name, iso.size.readable, iso.allocated.readable, iso.group ?? "", String(iso.sha256.prefix(16)) + "…",
                        iso.signatureVerified ? "yes" : "", added
                    )
                }
                print(isos.isEmpty ? "the library is empty (add an image with 'hv iso add URL --sha256 HEX')" : table.render())
                if let usage = library.usage { print(Self.describe(usage)) }
            }
        }

        /// One line: what the library and the caller's group occupy, of how much.
        static func describe(_ usage: ImageUsage) -> String {
            func of(_ used: ByteSize, _ limit: ByteSize?, _ setting: String) -> String {
                limit.map { "\(used.readable) of \($0.readable) (\(setting))" } ?? "\(used.readable), no limit"
            }
            return "on disk: library \(of(usage.library, usage.libraryLimit, "iso.max_total")); "
                + "group \(usage.group) \(of(usage.groupImages, usage.groupLimit, "groups.\(usage.group).images"))"
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recompute an image's SHA-256 and compare it with the recorded one.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String

        func run() throws {
            try Runner.run(options, explain: .isoVerify(name)) { client throws(HVError) in
                let bar = ProgressBar(label: name, enabled: !options.json && isatty(STDERR_FILENO) == 1)
                let result = try client.verifyIso(name) { progress in
                    bar.update(received: UInt64(clamping: progress.done), total: progress.total.map { UInt64(clamping: $0) })
                }
                bar.finish()
                if options.json { return Runner.printJSON(result) }
                guard result.intact else {
                    throw HVError(
                        .failed, "\(name) has changed since it was added: SHA-256 \(result.actual), expected \(result.expected)",
                        fix: "remove it ('hv iso remove \(name)') and add it again from a trusted source"
                    )
                }
                print("\(name): intact (SHA-256 \(result.actual))")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an image from the library.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String

        func run() throws {
            try Runner.run(options, explain: .isoRemove(name)) { client throws(HVError) in
                try client.removeIso(name)
                if !options.json { print("removed \(name)") }
            }
        }
    }
}
