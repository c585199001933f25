import Foundation
import Testing

/// `docs/ARCHITECTURE.md`'s table of targets is the manifest's truth: every target has its row,
/// each row lists exactly what the target depends on, and the rules that keep each target to one
/// purpose hold for what is linked, directly or not.
struct TargetRulesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func manifest() throws -> PackageManifest {
        try PackageManifest(text: String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8))
    }

    /// The rows of the table under "## Targets": target → the dependencies its row lists.
    static func documentedTargets() throws -> [String: Set<String>] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        let section = try #require(text.components(separatedBy: "\n## Targets").dropFirst().first, "no '## Targets' section")
        var rows: [String: Set<String>] = [:]
        for line in section.split(separator: "\n").prefix(while: { !$0.hasPrefix("## ") }) where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4 else { continue }
            let name = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let listed = cells[3] == "nothing" ? [] : cells[3].split(separator: ",").map {
                $0.trimmingCharacters(in: CharacterSet(charactersIn: "` ").union(.whitespaces))
            }
            rows[name] = Set(listed)
        }
        return rows
    }

    @Test func everyTargetHasItsRowWithExactlyItsDependencies() throws {
        let manifest = try Self.manifest()
        let documented = try Self.documentedTargets()
        let built = manifest.targets.values.filter { $0.kind != .testTarget }
        #expect(built.count > 20, "the manifest reader found only \(built.map(\.name))")
        for target in built {
            let row = try #require(documented[target.name], "docs/ARCHITECTURE.md has no row for target \(target.name)")
            #expect(row == Set(target.dependencies), "\(target.name): the table lists \(row.sorted()), Package.swift \(target.dependencies.sorted())")
        }
        for name in documented.keys {
            #expect(manifest.targets[name] != nil, "docs/ARCHITECTURE.md lists \(name), which Package.swift does not have")
        }
    }

    @Test(arguments: [
        ("HVServer", ["HVPolkit", "HVLibvirt", "HVBroker"], "the Varlink server is generic: each daemon brings its authorizer"),
        ("HVProtocol", ["HVLibvirt", "HVPolkit", "HVServer", "HVClient"], "the wire types are shared by every side and depend on nothing"),
        ("HVLibvirt", ["HVProtocol"], "the libvirt wrapper throws its own errors, not the wire's"),
        ("hv-broker", ["HVPresentation", "HVClient"], "the root daemon links no CLI code"),
        ("hv-monitor", ["HVPresentation", "HVLibvirt", "HVBroker"], "the monitor reaches libvirt only through the broker and prints no tables"),
        ("hv", ["HVLibvirt", "HVPolkit", "HVBroker", "HVServer"], "the CLI reaches the host only through the broker's socket"),
        (
            "HVBackupStore", ["HVLibvirt", "HVPolkit", "HVBroker", "HVServer", "HVClient"],
            "the backup repository is a library of files: the broker wires it, libvirt and NBD stay outside"
        ),
    ])
    func targetLinksNothingOutsideItsPurpose(target: String, forbidden: [String], why: String) throws {
        let manifest = try Self.manifest()
        try #require(manifest.targets[target] != nil, "no target \(target)")
        let linked = manifest.closure(of: target)
        for name in forbidden {
            try #require(manifest.targets[name] != nil, "no target \(name)")
            #expect(!linked.contains(name), "\(target) links \(name): \(why)")
        }
    }
}
