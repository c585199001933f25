import Foundation
import HVAudit
import HVProtocol
import HVTestSupport
import Testing

/// `--explain` explains and changes nothing.
extension ZeroTrustTests {
    static let explainMachine = "hv-it-explain"
    static let explainNetwork = "hv-it-explain"
    static let explainVolume = "hv-it-explain-vol.qcow2"

    /// Every `hv` command, taken from the command tree the binary dumps, run with `--explain` by an
    /// administrator (whom polkit lets do everything) against the real broker: each exits 0 and
    /// says nothing was done, the audit log gains no request from the administrator (so no
    /// state-changing one), and the machines, snapshots, networks, volumes and ISOs are as before.
    @Test func explainNeverActs() async throws {
        try withStack { stack in
            let admin = Stack.adminUser
            let machine = Self.explainMachine
            cleanExplainObjects(stack)
            defer { cleanExplainObjects(stack) }
            // Something for every command to act on: a running machine with a snapshot, a network, a volume.
            for setup in [
                ["vm", "create", machine, "--vcpus", "1", "--memory", "256M", "--disk", "1G", "--iso", stack.isoName],
                ["snapshot", "create", machine, "s1"],
                ["vm", "start", machine],
                ["net", "create", Self.explainNetwork, "--address", "10.213.9.1/24"],
                ["pool", "create-volume", Self.explainVolume, "--size", "1GiB"],
            ] {
                let output = try stack.hv(setup, as: admin)
                try #require(output.status == 0, "\(setup): \(output)")
            }
            let spec = "name: \(machine)\nvcpus: 2\nmemory: 512MiB\ndisks: [{name: root, size: 1GiB}]\n"
            let specFile = try writeSpec(stack, spec, name: "explain.yaml")

            let dump = try stack.hv(["--experimental-dump-help"], as: admin)
            try #require(dump.status == 0, "\(dump)")
            let walk = try ExplainWalk(dump: dump.stdout, values: explainValues(stack, specFile: specFile))
            let found = walk.commands.map { $0.joined(separator: " ") }
            #expect(walk.commands.count >= 45, "the walk found every command: \(found)")
            #expect(walk.missingValues.isEmpty, "no plausible value for: \(walk.missingValues)")
            #expect(walk.commands.contains(["vm", "kill"]) && walk.commands.contains(["snapshot", "delete"]))
            // Options the walk leaves at their defaults, where a command does something else with them.
            let exported = stack.base + "/explain-export.yaml"
            let alsoRun = [
                ["audit", "verify", "--file", stack.auditLog], ["vm", "export", machine, "--output", exported],
                ["vm", "stop", machine, "--wait", "60"], ["vm", "kill", "--tag", "lab", "--yes"],
            ]

            let stateBefore = try explainState(stack)
            // Records are told apart by when their request arrived: a read's record is queued
            // without its reply waiting, so the log's length alone could still grow by one of
            // the reads above.
            let loopStart = AuditRecord.timestamp()
            for arguments in walk.invocations + alsoRun {
                let output = try stack.hv(arguments + ["--explain"], as: admin)
                #expect(output.status == 0, "hv \(arguments.joined(separator: " ")) --explain: \(output)")
                let nothingDone = "\nnothing was done; run it again without --explain\n"
                #expect(output.stdout.hasSuffix(nothingDone), "\(arguments): \(output)")
                #expect(output.stdout.contains("what it does: "), "\(arguments): \(output)")
            }
            // `hv audit verify` writes every record queued before it first.
            let barrier = AuditRecord.timestamp()
            let verified = try stack.hv(["audit", "verify"], as: admin)
            #expect(verified.status == 0, "\(verified)")
            let newRecords = try auditRecords(stack).filter { $0.time > loopStart && $0.time < barrier }
            let changing = Set(BrokerOperation.allCases.filter(\.rule.changesState).map(\.action))
            let adminID = try run(["/usr/bin/id", "-u", admin]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let changes = newRecords.filter { changing.contains($0.action) }
            #expect(changes.isEmpty, "state-changing requests: \(changes)")
            let sent = newRecords.filter { String($0.uid) == adminID }
            #expect(sent.isEmpty, "--explain sent requests: \(sent)")
            let stateAfter = try explainState(stack)
            for (what, before) in stateBefore { #expect(stateAfter[what] == before, "\(what) changed") }
            #expect(!FileManager.default.fileExists(atPath: exported), "vm export --explain wrote its file")
            #expect(!FileManager.default.fileExists(atPath: stack.base + "/explain-shot.png"), "vm screenshot --explain wrote its file")
        }
    }

    /// A value for every argument a command needs, by the argument's value name and, where one name
    /// means different things, by the command. Objects that exist, so a command that acted would
    /// change something the test sees.
    func explainValues(_ stack: Stack, specFile: String) -> ExplainWalk.Values {
        let machine = Self.explainMachine
        return ExplainWalk.Values(
            byName: [
                "name": machine, "names": machine, "vm": machine, "source": machine, "file": specFile, "state": "on",
                "pins": "0=0", "setting": "on", "matcher": "host-cpu-high", "id": "1", "target": "host",
                "url": "http://127.0.0.1:9/hv-it-explain.iso", "sha256": String(repeating: "0", count: 64),
                "snapshot": "s2", "address": "10.213.9.1/24", "size": "2GiB", "pool": "hv-it-images",
            ],
            byCommand: [
                ["vm", "create"]: ["name": "hv-it-explain-new"],
                ["vm", "clone"]: ["name": "hv-it-explain-clone"],
                ["snapshot", "create"]: ["name": "s2"],
                ["snapshot", "revert"]: ["name": "s1"],
                ["snapshot", "delete"]: ["name": "s1"],
                ["net", "create"]: ["name": "hv-it-explain2"],
                ["net", "start"]: ["name": Self.explainNetwork],
                ["net", "stop"]: ["name": Self.explainNetwork],
                ["net", "autostart"]: ["name": Self.explainNetwork],
                ["net", "delete"]: ["name": Self.explainNetwork],
                ["iso", "verify"]: ["name": stack.isoName],
                ["iso", "remove"]: ["name": stack.isoName],
                ["image", "import"]: ["name": "hv-it-explain-image"],
                ["pool", "create-volume"]: ["name": "hv-it-explain-new.qcow2"],
                ["pool", "resize-volume"]: ["name": Self.explainVolume],
                ["pool", "delete-volume"]: ["name": Self.explainVolume],
                ["pool", "template"]: ["name": Self.explainVolume],
                ["vm", "screenshot"]: ["output": stack.base + "/explain-shot.png"],
            ],
            // What the tree can't say: passthrough needs devices or --clear, a prune at least one
            // rule, a restore a new name, unless it is in place (its flag), which takes none.
            extra: [["vm", "passthrough"]: ["--clear"], ["backup", "prune"]: ["--keep-last", "1"], ["backup", "restore"]: ["--name", "hv-it-explain-restored"]],
            flagExtra: [["backup", "restore"]: []]
        )
    }

    /// What the broker reports, by what it is; a command that acted would change one of them. An
    /// answer that is not a success (the machine is gone) is kept as it is, to differ.
    func explainState(_ stack: Stack) throws -> [String: String] {
        var state: [String: String] = [:]
        for command in [["snapshot", "list", Self.explainMachine], ["net", "list"], ["iso", "list"]] {
            state[command.joined(separator: " ")] = "\(try stack.hv(command + ["--json"], as: Stack.adminUser))"
        }
        // The machines this broker made: other suites run machines of their own on the same libvirtd
        // (seen here as unmanaged), which start and stop meanwhile.
        let machines = try stack.hv(["vm", "list", "--json"], as: Stack.adminUser)
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(machines.stdout.utf8)) as? [[String: Any]], "\(machines)")
        state["vm list"] = listed.filter { $0["managed"] as? Bool == true }
            .map { "\($0["name"] ?? "") \($0["state"] ?? "") \($0["tags"] ?? "")" }.sorted().joined(separator: "\n")
        // A running machine's CPU time moves, and its disks' allocation may: compare the rest.
        let info = try stack.hv(["vm", "info", Self.explainMachine, "--json"], as: Stack.adminUser)
        if var details = try? JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any] {
            details["cpuTimeNs"] = nil
            let sorted = try JSONSerialization.data(withJSONObject: details, options: .sortedKeys)
            state["vm info"] = String(decoding: sorted, as: UTF8.self)
        } else {
            state["vm info"] = "\(info)"
        }
        let volumes = try stack.hv(["pool", "volumes", "--json"], as: Stack.adminUser)
        let parsed = try JSONSerialization.jsonObject(with: Data(volumes.stdout.utf8)) as? [[String: Any]]
        let list = try #require(parsed, "\(volumes)")
        state["pool volumes"] = list.map { volume in
            "\(volume["name"] ?? "") \(volume["capacity"] ?? "") \(volume["template"] ?? "")"
        }.sorted().joined(separator: "\n")
        return state
    }

    func auditRecords(_ stack: Stack) throws -> [AuditRecord] {
        try String(contentsOfFile: stack.auditLog, encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(AuditRecord.self, from: Data($0.utf8)) }
    }

    func cleanExplainObjects(_ stack: Stack) {
        clean(stack, [Self.explainMachine, "hv-it-explain-new", "hv-it-explain-clone"])
        for command in [
            ["net", "delete", Self.explainNetwork], ["net", "delete", "hv-it-explain2"],
            ["pool", "delete-volume", Self.explainVolume], ["pool", "delete-volume", "hv-it-explain-new.qcow2"],
        ] {
            _ = try? stack.hv(command, as: Stack.adminUser)
        }
    }
}

/// Every leaf command of `hv`'s command tree, read from `--experimental-dump-help`, with its
/// arguments filled in: once as plainly as it can be run, once with every flag on, and for bulk
/// commands once with `--all --yes`.
struct ExplainWalk {
    struct Values {
        var byName: [String: String]
        var byCommand: [[String]: [String: String]]
        var extra: [[String]: [String]]
        /// What replaces `extra` when every flag is on, for a command whose flag excludes it.
        var flagExtra: [[String]: [String]] = [:]

        func value(_ name: String, in command: [String]) -> String? {
            byCommand[command]?[name] ?? byName[name]
        }
    }

    private(set) var commands: [[String]] = []
    private(set) var invocations: [[String]] = []
    private(set) var missingValues: [String] = []

    /// Flags every command has, or that a variant sets on its own.
    static let commonFlags: Set<String> = ["explain", "help", "version", "all", "yes", "clear"]

    init(dump: String, values: Values) throws {
        let root = try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [String: Any]
        guard let command = root?["command"] as? [String: Any] else {
            throw SetupError("no command in the dump: \(dump.prefix(200))")
        }
        walk(command, path: [], values: values)
    }

    private mutating func walk(_ command: [String: Any], path: [String], values: Values) {
        let subcommands = command["subcommands"] as? [[String: Any]] ?? []
        if !path.isEmpty && subcommands.isEmpty {
            return add(path, arguments: command["arguments"] as? [[String: Any]] ?? [], values: values)
        }
        for subcommand in subcommands {
            guard let name = subcommand["commandName"] as? String, name != "help" else { continue }
            walk(subcommand, path: path + [name], values: values)
        }
    }

    private mutating func add(_ path: [String], arguments: [[String: Any]], values: Values) {
        commands.append(path)
        var positionals: [String] = []
        var options: [String] = []
        var flags: [String] = []
        for argument in arguments {
            let kind = argument["kind"] as? String
            let optional = argument["isOptional"] as? Bool ?? true
            let valueName = argument["valueName"] as? String ?? ""
            let preferred = (argument["preferredName"] as? [String: Any])?["name"] as? String ?? valueName
            switch kind {
            case "positional":
                guard let value = values.value(valueName, in: path) else {
                    missingValues.append("\(path.joined(separator: " ")) <\(valueName)>")
                    continue
                }
                positionals.append(value)
            case "option" where !optional:
                guard let value = values.value(valueName, in: path) else {
                    missingValues.append("\(path.joined(separator: " ")) --\(preferred)")
                    continue
                }
                options += ["--" + preferred, value]
            case "flag" where !Self.commonFlags.contains(preferred):
                flags.append("--" + preferred)
            default:
                break
            }
        }
        let extra = values.extra[path] ?? []
        invocations.append(path + positionals + options + extra)
        if !flags.isEmpty { invocations.append(path + positionals + options + (values.flagExtra[path] ?? extra) + flags) }
        if arguments.contains(where: { ($0["preferredName"] as? [String: Any])?["name"] as? String == "all" }) {
            invocations.append(path + options + extra + ["--all", "--yes"])
        }
    }
}
