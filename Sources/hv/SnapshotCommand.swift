import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Snapshots of a machine: list as a tree, create, revert, delete.",
        subcommands: [List.self, Create.self, Revert.self, Delete.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a machine's snapshots as a tree.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The machine.") var vm: String

        func run() throws {
            try Runner.run(options, explain: .snapshotList(vm)) { client throws(HVError) in
                let snapshots = try client.snapshots(of: vm)
                if options.json { return Runner.printJSON(snapshots) }
                print(snapshots.isEmpty ? "\(vm) has no snapshots (take one with 'hv snapshot create \(vm) NAME')" : SnapshotTree.render(snapshots))
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a snapshot of a machine's disks (and memory, if it runs).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The machine.") var vm: String
        @Argument(help: "The snapshot's name.") var name: String
        @Option(help: "What this snapshot is for.") var description: String?

        func run() throws {
            try Runner.run(options, explain: .snapshotCreate(vm, name)) { client throws(HVError) in
                let snapshot = try client.createSnapshot(of: vm, name: name, description: description)
                if options.json { return Runner.printJSON(snapshot) }
                print("took snapshot \(snapshot.name) of \(vm) (\(snapshot.state))")
            }
        }
    }

    struct Revert: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Return a machine to a snapshot; what was written since is lost.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The machine.") var vm: String
        @Argument(help: "The snapshot.") var name: String

        func run() throws {
            try Runner.run(options, explain: .snapshotRevert(vm, name)) { client throws(HVError) in
                try client.revertSnapshot(of: vm, name: name)
                if !options.json { print("reverted \(vm) to \(name)") }
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete one snapshot; its children move to its parent.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The machine.") var vm: String
        @Argument(help: "The snapshot.") var name: String

        func run() throws {
            try Runner.run(options, explain: .snapshotDelete(vm, name)) { client throws(HVError) in
                try client.deleteSnapshot(of: vm, name: name)
                if !options.json { print("deleted snapshot \(name) of \(vm)") }
            }
        }
    }
}

/// Draws snapshots as a tree, children under their parent, oldest first.
enum SnapshotTree {
    static func render(_ snapshots: [SnapshotInfo]) -> String {
        let names = Set(snapshots.map(\.name))
        let children = Dictionary(grouping: snapshots) { snapshot in snapshot.parent.flatMap { names.contains($0) ? $0 : nil } ?? "" }
        var lines: [String] = []
        func walk(_ parent: String, prefix: String) {
            let level = (children[parent] ?? []).sorted { ($0.created, $0.name) < ($1.created, $1.name) }
            for (index, snapshot) in level.enumerated() {
                let last = index == level.count - 1
                let date = Date(timeIntervalSince1970: TimeInterval(snapshot.created)).formatted(.iso8601)
                var line = prefix + (last ? "└─ " : "├─ ") + snapshot.name + "  \(date)  \(snapshot.state)"
                if snapshot.current { line += "  (current)" }
                if let description = snapshot.description, !description.isEmpty { line += "  \(description)" }
                lines.append(line)
                walk(snapshot.name, prefix: prefix + (last ? "   " : "│  "))
            }
        }
        walk("", prefix: "")
        return lines.joined(separator: "\n")
    }
}
