import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol

struct VmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm", abstract: "Virtual machines.",
        subcommands: [
            List.self, Info.self, Apply.self, Export.self, Create.self, Start.self, Stop.self, Reboot.self, Kill.self, Delete.self,
            Log.self, Screenshot.self, Snapshot.self, Clone.self, Template.self, Autostart.self, Hugepages.self, Pin.self,
            Passthrough.self, Adopt.self,
        ]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List machines and their states.")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            try Runner.run(options, explain: .list()) { client throws(HVError) in
                let vms = try client.list()
                if options.json { return Runner.printJSON(vms) }
                var table = Table("NAME", "STATE", "UUID")
                for vm in vms { table.add(vm.managed ? vm.name : vm.name + " (not managed: hv vm adopt)", vm.state, vm.uuid) }
                print(vms.isEmpty ? "no virtual machines (create one with 'hv vm create NAME')" : table.render())
            }
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one machine.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The machine's name.") var name: String

        func run() throws {
            try Runner.run(options, explain: .info(name)) { client throws(HVError) in
                let vm = try client.info(name)
                if options.json { return Runner.printJSON(vm) }
                print("""
                    name:      \(vm.name)
                    uuid:      \(vm.uuid)
                    state:     \(vm.state)
                    type:      \(vm.domainType)
                    vcpus:     \(vm.vcpus)
                    memory:    \(vm.memoryMiB) MiB
                    cpu time:  \(String(format: "%.2f", Double(vm.cpuTimeNs) / 1e9)) s
                    autostart: \(vm.autostart ? "yes" + (vm.autostartOrder.map { ", order \($0)" } ?? "") : "no")
                    """)
                if let tpm = vm.tpm { print("tpm:       \(tpm ? "yes" : "no")") }
                if let features = vm.hostFeatures {
                    print("host:      " + HostFeatureReport.lines(features).joined(separator: "\n           "))
                }
                var table = Table("DEVICE", "TYPE", "IMAGE")
                for disk in vm.disks { table.add(disk.target, disk.device, disk.source ?? "-") }
                print("disks:\n" + table.render().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Define a machine with one new qcow2 disk and a serial console.",
            discussion: "Sizes take a unit: 512M, 2G (memory defaults to MiB, disk to GiB)."
        )
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Name: letters, digits, '.', '_', '-'; at most 64; starts with a letter or digit.") var name: String
        @Option(help: "Virtual CPUs.") var vcpus = 1
        @Option(help: "Memory, e.g. 512M or 2G.") var memory = "512M"
        @Option(help: "Size of the new disk, e.g. 20G.") var disk = "10G"
        @Option(help: "Boot ISO, by its name in the broker's ISO library.") var iso: String?

        func run() throws {
            let spec: VmSpec
            do {
                spec = VmSpec(
                    name: name, vcpus: vcpus, memoryMiB: try Size.mebibytes(memory, field: "memory", defaultUnit: "M"),
                    diskGiB: try Size.gibibytes(disk, field: "disk"), iso: iso
                )
                try spec.validate()
            } catch {
                Runner.fail(error)
            }
            try Runner.run(options, explain: .create(spec)) { client throws(HVError) in
                let vm = try client.create(spec)
                if options.json { return Runner.printJSON(vm) }
                print("created \(vm.name) (\(vm.domainType), \(vm.vcpus) vCPU, \(vm.memoryMiB) MiB); start it with 'hv vm start \(vm.name)'")
            }
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Boot machines: by name, --tag or --all.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var machines: BulkOptions

        func run() throws {
            if let name = machines.single {
                return try Runner.lifecycle(options, Method.vmStart, name, explain: .start(name), done: "started \(name)")
            }
            try Runner.bulk(options, machines, verb: "start", destructive: false, explain: .start("NAME")) { client, name throws(HVError) in
                try client.lifecycle(Method.vmStart, name)
                return "started"
            }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask machines to shut down (ACPI power button).")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var machines: BulkOptions
        @Option(help: "Wait up to this many seconds for each machine to be shut off.") var wait: Int?

        func run() throws {
            let wait = wait
            if let name = machines.single {
                return try Runner.run(options, explain: .stop(name)) { client throws(HVError) in
                    try client.lifecycle(Method.vmShutdown, name)
                    guard let wait else {
                        if !options.json { print("asked \(name) to shut down") }
                        return
                    }
                    try Self.waitForShutoff(client, name, seconds: wait)
                    if !options.json { print("\(name) is shut off") }
                }
            }
            try Runner.bulk(options, machines, verb: "stop", destructive: false, explain: .stop("NAME")) { client, name throws(HVError) in
                try client.lifecycle(Method.vmShutdown, name)
                guard let wait else { return "asked to shut down" }
                try Self.waitForShutoff(client, name, seconds: wait)
                return "shut off"
            }
        }

        static func waitForShutoff(_ client: BrokerClient, _ name: String, seconds: Int) throws(HVError) {
            let deadline = Date().addingTimeInterval(TimeInterval(seconds))
            while try client.info(name).state != "shutoff" {
                guard Date() < deadline else {
                    throw HVError(
                        .failed, "\(name) did not shut down within \(seconds) s",
                        fix: "the guest may ignore the power button; stop it at once with 'hv vm kill \(name)'"
                    )
                }
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
    }

    struct Reboot: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask machines to reboot.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var machines: BulkOptions

        func run() throws {
            if let name = machines.single {
                return try Runner.lifecycle(options, Method.vmReboot, name, explain: .reboot(name), done: "asked \(name) to reboot")
            }
            try Runner.bulk(options, machines, verb: "reboot", destructive: false, explain: .reboot("NAME")) { client, name throws(HVError) in
                try client.lifecycle(Method.vmReboot, name)
                return "asked to reboot"
            }
        }
    }

    struct Kill: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop machines at once (like pulling the plug).")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var machines: BulkOptions

        func run() throws {
            if let name = machines.single {
                return try Runner.lifecycle(options, Method.vmKill, name, explain: .kill(name), done: "stopped \(name)")
            }
            try Runner.bulk(options, machines, verb: "kill", destructive: true, explain: .kill("NAME")) { client, name throws(HVError) in
                try client.lifecycle(Method.vmKill, name)
                return "stopped"
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Undefine stopped machines.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var machines: BulkOptions
        @Flag(help: "Also delete their disk images (a separate polkit action).") var removeDisks = false

        func run() throws {
            let removeDisks = removeDisks
            if let name = machines.single {
                return try Runner.run(options, explain: .delete(name, removeDisks: removeDisks)) { client throws(HVError) in
                    let removed = try client.delete(name, removeDisks: removeDisks)
                    if options.json { return Runner.printJSON(VmDeleteReply(removedDisks: removed)) }
                    print("deleted \(name)" + (removed.isEmpty ? "" : "; removed \(removed.joined(separator: ", "))"))
                }
            }
            try Runner.bulk(options, machines, verb: "delete", destructive: true, explain: .delete("NAME", removeDisks: removeDisks)) {
                client, name throws(HVError) in
                let removed = try client.delete(name, removeDisks: removeDisks)
                return removed.isEmpty ? "deleted" : "deleted; removed \(removed.joined(separator: ", "))"
            }
        }
    }

    struct Snapshot: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Snapshot machines: by name, --tag or --all (see also 'hv snapshot').")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var machines: BulkOptions
        @Option(help: "The snapshot's name (the same on every machine).") var snapshot: String
        @Option(help: "What this snapshot is for.") var description: String?

        func run() throws {
            let snapshot = snapshot
            let description = description
            try Runner.bulk(options, machines, verb: "snapshot", destructive: false, explain: .snapshotCreate("NAME", snapshot)) {
                client, name throws(HVError) in
                _ = try client.createSnapshot(of: name, name: snapshot, description: description)
                return "snapshot \(snapshot) taken"
            }
        }
    }

    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the end of a machine's serial console log.",
            discussion: """
                The guest's control characters and escape sequences are shown, not obeyed (ESC as ^[, a lone
                carriage return as ^M), so a guest cannot redraw your screen, hide lines or set your clipboard.
                """
        )
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Option(help: "How many bytes from the end (at most 262144).") var bytes: Int?
        @Flag(help: "Print the guest's output as it is, escape sequences included: your terminal obeys them.")
        var raw = false

        func run() throws {
            try Runner.run(options, explain: .log(name)) { client throws(HVError) in
                let log = try client.console(name, maxBytes: bytes)
                if options.json { return Runner.printJSON(log) }
                let text = raw ? log.text : TerminalText.visible(log.text)
                print(text, terminator: text.hasSuffix("\n") || text.isEmpty ? "" : "\n")
            }
        }
    }
}

/// Parses sizes such as `512M`, `2G`, `1T` into MiB.
enum Size {
    /// Disk sizes are whole GiB; `1500M` is refused rather than rounded.
    static func gibibytes(_ text: String, field: String) throws(HVError) -> Int {
        let mebibytes = try mebibytes(text, field: field, defaultUnit: "G")
        guard mebibytes % 1024 == 0 else {
            throw HVError(
                .invalidParameter, "\(field): '\(text)' is not a whole number of GiB", fix: "write it in G, such as 20G",
                details: ["parameter": field]
            )
        }
        return mebibytes / 1024
    }

    static func mebibytes(_ text: String, field: String, defaultUnit: String) throws(HVError) -> Int {
        let digits = text.prefix(while: \.isNumber)
        var unit = text.dropFirst(digits.count).uppercased()
        if unit.isEmpty { unit = defaultUnit }
        let factor: Int? = switch unit {
        case "M", "MB", "MIB": 1
        case "G", "GB", "GIB": 1024
        case "T", "TB", "TIB": 1024 * 1024
        default: nil
        }
        guard let value = Int(digits), let factor, value.multipliedReportingOverflow(by: factor).overflow == false else {
            throw HVError(
                .invalidParameter, "\(field): '\(text)' is not a size", fix: "write a whole number with a unit, such as 512M or 20G",
                details: ["parameter": field]
            )
        }
        return value * factor
    }
}
