import HVProtocol

/// What `--explain` prints: the equivalent libvirt command and why the broker does it this way.
///
/// `--explain` only explains: a command asked for it prints `explainOnlyText` and stops before it
/// connects to the broker or the monitor, so nothing is asked and nothing changes.
public struct Explanation: Sendable, Hashable {
    public var commands: [String]
    public var why: String
    public var operation: BrokerOperation?
    /// For the monitor's commands: the monitor's operation, checked by the monitor.
    public var monitorOperation: MonitorOperation? = nil

    public var text: String {
        var lines = ["equivalent: " + commands.joined(separator: "\n            ")]
        lines.append("what it does: \(why)")
        if let operation {
            lines.append("authorized by: polkit action \(operation.action) (granted to \(operation.grantingGroup))")
        }
        if let monitorOperation {
            lines.append(
                "authorized by: polkit action \(monitorOperation.action), asked by hv-monitor "
                    + "(granted to \(monitorOperation.grantingGroup))"
            )
        }
        return lines.joined(separator: "\n")
    }

    /// The line `--explain` ends with: the command did nothing, and how to run it for real.
    public static let nothingDone = "nothing was done; run it again without --explain"

    /// Everything a command prints when asked to `--explain`.
    public var explainOnlyText: String { text + "\n" + Self.nothingDone }

    static let uri = "virsh -c qemu:///system"

    public static func hostInfo() -> Explanation {
        Explanation(
            commands: ["\(uri) nodeinfo", "\(uri) version"],
            why: "Shows the host's CPU, memory and versions; the broker also runs a tiny guest to tell whether KVM is usable, not just present.",
            operation: .hostInfo
        )
    }

    public static func list() -> Explanation {
        Explanation(commands: ["\(uri) list --all"], why: "Lists every defined machine, running or not.", operation: .vmList)
    }

    public static func info(_ name: String) -> Explanation {
        Explanation(
            commands: ["\(uri) dominfo \(name)", "\(uri) domblklist \(name) --details"],
            why: "Shows a machine's state, size and disks.", operation: .vmInfo
        )
    }

    public static func create(_ spec: VmSpec) -> Explanation {
        var commands = [
            "\(uri) vol-create-as hypervisor-images \(spec.name)-disk0.qcow2 \(spec.diskGiB)G --format qcow2",
            "\(uri) define \(spec.name).xml",
        ]
        if let iso = spec.iso { commands[1] += "    # with /var/lib/hypervisor/isos/\(iso) as its CD-ROM" }
        return Explanation(
            commands: commands,
            why: "Creates an empty disk in the broker's storage pool, then defines the machine from XML the broker generates from your checked spec; you never write XML or name host paths.",
            operation: .vmCreate
        )
    }

    public static func start(_ name: String) -> Explanation {
        Explanation(commands: ["\(uri) start \(name)"], why: "Boots the machine from its stored definition.", operation: .vmStart)
    }

    public static func stop(_ name: String) -> Explanation {
        Explanation(
            commands: ["\(uri) shutdown \(name) --mode acpi"],
            why: "Presses the virtual power button; the guest's OS decides how to shut down, so it can take a while or be ignored (then use 'hv vm kill').",
            operation: .vmShutdown
        )
    }

    public static func reboot(_ name: String) -> Explanation {
        Explanation(commands: ["\(uri) reboot \(name)"], why: "Asks the guest to restart.", operation: .vmReboot)
    }

    public static func kill(_ name: String) -> Explanation {
        Explanation(
            commands: ["\(uri) destroy \(name)"],
            why: "Stops the machine at once, like pulling the power cord: the guest gets no chance to write its data.",
            operation: .vmKill
        )
    }

    public static func delete(_ name: String, removeDisks: Bool) -> Explanation {
        var commands = ["\(uri) undefine \(name) --managed-save --snapshots-metadata --nvram --tpm"]
        if removeDisks { commands.append("\(uri) vol-delete --pool hypervisor-images \(name)-disk0.qcow2") }
        return Explanation(
            commands: commands,
            why: removeDisks
                ? "Forgets the machine's definition, UEFI variables and TPM, and deletes its disk images; this cannot be undone."
                : "Forgets the machine's definition, UEFI variables and TPM; its disk images stay in the pool.",
            operation: removeDisks ? .vmDeleteWithDisks : .vmDelete
        )
    }

    public static func log(_ name: String) -> Explanation {
        Explanation(
            commands: ["\(uri) console \(name)    # live; hv shows the log libvirt keeps of it"],
            why: "Shows what the guest printed on its serial port, which is where boot messages and kernel panics appear.",
            operation: .vmConsole
        )
    }

    public static func auditVerify() -> Explanation {
        Explanation(
            commands: ["(no virsh equivalent: the audit log is the broker's own)"],
            why: "Recomputes the SHA-256 chain over every audit record; an edited, inserted or deleted line breaks the chain at that line.",
            operation: .auditVerify
        )
    }
}
