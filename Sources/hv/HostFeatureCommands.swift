import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol

/// The administrator's host features: `hv vm hugepages`, `hv vm pin`, `hv vm passthrough`.
extension VmCommand {
    struct Hugepages: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Back a machine's memory with the host's reserved hugepages (administrators only).",
            discussion: "Takes effect when the machine next starts. The host must reserve enough pages (vm.nr_hugepages)."
        )
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Argument(help: "on or off.") var state: OnOff

        func run() throws {
            let enabled = state == .on
            try Runner.run(options, explain: .hugepages(name, enabled: enabled)) { client throws(HVError) in
                let reply = try client.setHugepages(name, enabled: enabled)
                HostFeatureReport.print(reply, name: name, options: options)
            }
        }
    }

    struct Pin: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pin a machine's vCPUs to host CPUs (administrators only).",
            discussion: """
                Each pin is VCPU=CPUS, where CPUS is a CPU list such as 2, 2-3 or 0,4-5. The pins given
                replace the machine's pins; --clear removes them. Takes effect when the machine next starts.
                Example: hv vm pin web 0=2 1=3
                """
        )
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Argument(help: "Pins as VCPU=CPUS.") var pins: [String] = []
        @Flag(help: "Remove every pin.") var clear = false

        func validate() throws {
            if clear == !pins.isEmpty {
                throw ValidationError(clear ? "give pins or --clear, not both" : "give at least one pin (VCPU=CPUS), or --clear")
            }
        }

        func run() throws {
            var parsed: [CpuPin] = []
            for text in pins {
                let parts = text.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let vcpu = Int(parts[0]) else {
                    Runner.fail(.invalidParameter("pins", "'\(text)' is not a pin", fix: "write VCPU=CPUS, such as 0=2 or 1=3-4"))
                }
                parsed.append(CpuPin(vcpu: vcpu, cpus: String(parts[1])))
            }
            let pins = parsed
            try Runner.run(options, explain: .pin(name, pins: pins)) { client throws(HVError) in
                let reply = try client.pinCpus(name, pins: pins)
                HostFeatureReport.print(reply, name: name, options: options)
            }
        }
    }

    struct Passthrough: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a machine host PCI or USB devices (administrators only).",
            discussion: """
                The devices given replace the machine's; --clear removes them all. A PCI device needs the
                IOMMU on (intel_iommu=on or amd_iommu=on) and goes to one machine at a time. Takes effect
                when the machine next starts. Example: hv vm passthrough gpu-box --pci 0000:01:00.0 --usb 046d:c52b
                """
        )
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Option(help: "A PCI address as 'lspci -D' shows it; repeat for more.") var pci: [String] = []
        @Option(help: "A USB device as VENDOR:PRODUCT, as 'lsusb' shows it; repeat for more.") var usb: [String] = []
        @Flag(help: "Remove every passed-through device.") var clear = false

        func validate() throws {
            if clear == !(pci.isEmpty && usb.isEmpty) {
                throw ValidationError(clear ? "give devices or --clear, not both" : "give --pci or --usb devices, or --clear")
            }
        }

        func run() throws {
            let pci = pci
            let usb = usb
            try Runner.run(options, explain: .passthrough(name, pci: pci, usb: usb)) { client throws(HVError) in
                let reply = try client.setPassthrough(name, pci: pci, usb: usb)
                HostFeatureReport.print(reply, name: name, options: options)
            }
        }
    }
}

enum OnOff: String, ExpressibleByArgument, CaseIterable {
    case on, off
}

/// What the host-feature commands and `hv vm info` print.
enum HostFeatureReport {
    static func print(_ reply: VmHostFeaturesReply, name: String, options: GlobalOptions) {
        if options.json { return Runner.printJSON(reply) }
        Swift.print("\(name): " + lines(reply.hostFeatures).joined(separator: "; "))
        if reply.restartNeeded {
            Swift.print("\(name) is running: it gets this at its next start ('hv vm stop \(name) --wait 60' then 'hv vm start \(name)')")
        }
    }

    static func lines(_ features: HostFeatures) -> [String] {
        [
            "hugepages \(features.hugepages ? "on" : "off")",
            "cpu pins " + (features.cpuPins.isEmpty ? "none" : features.cpuPins.map { "\($0.vcpu)=\($0.cpus)" }.joined(separator: " ")),
            "pci " + (features.pciDevices.isEmpty ? "none" : features.pciDevices.joined(separator: " ")),
            "usb " + (features.usbDevices.isEmpty ? "none" : features.usbDevices.joined(separator: " ")),
        ]
    }
}

extension HostCommand {
    struct Autostart: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start the machines whose spec enables autostart, in order (administrators only).",
            discussion: """
                Lowest order first, then by name. Each order group starts after the one before it, and
                --group-delay seconds after it when that group started anything. hypernixos-autostart.service
                runs this once at boot. Exits 1 when any machine failed to start.
                """
        )
        @OptionGroup var options: GlobalOptions
        @Option(help: "Seconds to wait between order groups (0-600).") var groupDelay = 0

        func run() throws {
            let delay = groupDelay
            var failed = false
            try Runner.run(options, explain: .autostart()) { client throws(HVError) in
                let machines = try client.autostart(groupDelaySeconds: delay)
                failed = machines.contains { $0.result == "failed" }
                if options.json { return Runner.printJSON(machines) }
                guard !machines.isEmpty else { return Swift.print("no machine's spec enables autostart") }
                var table = Table("ORDER", "NAME", "RESULT", "REASON")
                for machine in machines { table.add("\(machine.order)", machine.name, machine.result, machine.reason ?? "") }
                Swift.print(table.render())
                let started = machines.filter { $0.result == "started" }.count
                let failures = machines.filter { $0.result == "failed" }.count
                Swift.print("\(started) started, \(machines.count - started - failures) already running, \(failures) failed")
            }
            if failed { Foundation.exit(1) }
        }
    }
}
