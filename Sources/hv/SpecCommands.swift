import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol
import HVSpec

extension VmCommand {
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or update a machine from a spec file (YAML or JSON).",
            discussion: """
                A running machine is never destroyed: changes that need a restart are saved to its definition
                and listed. Machines no spec mentions are never touched. See docs/SPEC.md for every field.
                """
        )
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The spec file.") var file: String
        @Flag(help: "Show what would change; change nothing.") var dryRun = false

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                Runner.fail(HVError(.notFound, "cannot read \(file)", fix: "check the path; the file is read by you, not by the broker"))
            }
            let spec: MachineSpec
            do {
                spec = try SpecFile.read(data: data, name: file)
            } catch {
                Runner.fail(SpecFile.error(error, in: file))
            }
            let dryRun = dryRun
            try Runner.run(options, explain: .apply(spec.name, file: file)) { client throws(HVError) in
                let reply = try client.apply(spec, dryRun: dryRun)
                if options.json { return Runner.printJSON(reply) }
                print(ApplyReport.render(reply, name: spec.name, dryRun: dryRun))
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the spec a machine was applied from (YAML).")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?

        func run() throws {
            try Runner.run(options, explain: .export(name)) { client throws(HVError) in
                let spec = try client.export(name)
                if options.json { return Runner.printJSON(spec) }
                let text = SpecFile.export(spec)
                guard let output else { return print(text, terminator: "") }
                do {
                    try text.write(toFile: output, atomically: true, encoding: .utf8)
                } catch {
                    throw HVError(.failed, "cannot write \(output): \(error.localizedDescription)")
                }
            }
        }
    }

    struct Clone: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a new machine from another: full copies, or --linked overlays of a template.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The machine to clone.") var source: String
        @Argument(help: "The new machine's name.") var name: String
        @Flag(help: "Copy-on-write overlays of a template's disks: instant and small, but the template must stay.") var linked = false

        func run() throws {
            let linked = linked
            try Runner.run(options, explain: .clone(source, name, linked: linked)) { client throws(HVError) in
                let vm = try client.clone(source, to: name, linked: linked)
                if options.json { return Runner.printJSON(vm) }
                print("cloned \(source) to \(vm.name)\(linked ? " (linked)" : ""); start it with 'hv vm start \(vm.name)'")
            }
        }
    }

    struct Autostart: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a machine at boot, or not, and in which order.",
            discussion: """
                'hv host autostart' (run once at boot by hypernixos-autostart.service) starts the machines set to
                'on', lowest --order first (0-999; machines of one order start together). The setting is kept in
                the machine's spec, as 'autostart:' in a spec file, so 'hv vm export' shows it.
                """
        )
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Argument(help: "on or off.") var setting: Setting
        @Option(help: "The order group, 0-999 (default: the one it has, else 0).") var order: Int?

        enum Setting: String, ExpressibleByArgument, CaseIterable { case on, off }

        func run() throws {
            try Runner.run(options, explain: .autostart(name, enabled: setting == .on, order: order)) { client throws(HVError) in
                let reply = try client.setAutostart(name, enabled: setting == .on, order: order)
                if options.json { return Runner.printJSON(reply) }
                print(reply.autostart ? "\(name) starts at boot, in order group \(reply.order)" : "\(name) does not start at boot")
            }
        }
    }

    struct Template: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Turn a stopped machine into a template for linked clones.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String

        func run() throws {
            try Runner.run(options, explain: .makeTemplate(name)) { client throws(HVError) in
                try client.makeTemplate(name)
                if !options.json { print("\(name) is a template; make machines from it with 'hv vm clone \(name) NEW --linked'") }
            }
        }
    }
}

extension VmCommand {
    struct Adopt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take over a machine the broker did not create (administrators only).",
            discussion: """
                The domain is read as a spec would describe it; anything a spec can't express (host devices,                 CPU tuning, disks outside the allowed pools or not named MACHINE-DISK.qcow2, a CD-ROM outside the ISO                 library) is refused by name, and nothing changes. Until adopted, such a domain is invisible to operators                 and viewers.
                """
        )
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The domain's name.") var name: String
        @Option(help: "The group it is charged to (default: your own, as for a machine you create).") var group: String?

        func run() throws {
            try Runner.run(options, explain: .adopt(name)) { client throws(HVError) in
                let vm = try client.adopt(name, group: group)
                if options.json { return Runner.printJSON(vm) }
                print("\(name) is managed by the broker now; see its spec with 'hv vm export \(name)'")
            }
        }
    }
}

/// What `hv vm apply` prints.
enum ApplyReport {
    static func render(_ reply: VmApplyReply, name: String, dryRun: Bool) -> String {
        var lines: [String] = []
        if reply.created {
            lines.append(dryRun ? "would create \(name)" : "created \(name); start it with 'hv vm start \(name)'")
        } else if reply.changes.isEmpty {
            lines.append("\(name) already matches the spec; nothing to do")
        } else {
            lines.append(dryRun ? "would change \(name):" : "changed \(name):")
            var table = Table("FIELD", "FROM", "TO", "TAKES EFFECT")
            for change in reply.changes {
                table.add(change.field, change.from ?? "-", change.to ?? "-", change.effect == .immediate ? "now" : "at next boot")
            }
            lines.append(table.render())
            for change in reply.changes { if let note = change.note { lines.append("note: \(change.field): \(note)") } }
        }
        if reply.restartNeeded {
            lines.append("\(name) is running: restart it ('hv vm stop \(name) --wait 60' then 'hv vm start \(name)') for the changes marked 'at next boot'")
        }
        return lines.joined(separator: "\n")
    }
}
