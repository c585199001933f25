import Foundation
import HVAudit
import HVPolkit
import HVProtocol

/// The checks only the broker can run, computed from facts it gathered; pure, so thresholds are
/// testable without libvirt.
public enum BrokerHealth {
    /// A pool with less free space than this is a warning.
    public static let poolWarningFreeRatio = 0.15
    /// A pool with less free space than this is critical.
    public static let poolCriticalFreeRatio = 0.05
    /// libvirtd or polkit answering slower than this is a warning.
    public static let slowAnswer: Duration = .seconds(1)

    public static func checks(
        facts: HealthFacts, authorization: Duration, audit: AuditChain.Verification, auditLog: String
    ) -> [HealthCheck] {
        var checks = [libvirtd(facts.libvirt), kvm(facts.kvm), polkit(authorization, backend: facts.polkitBackend)]
        if let pools = facts.pools {
            checks += pools.sorted { $0.name < $1.name }.map(pool)
        } else {
            checks += unknown(
                prefix: "pool", names: facts.lastKnownPools, title: "storage pool", plural: "pools",
                what: "free space"
            )
        }
        if let networks = facts.networks {
            checks += networks.sorted { $0.name < $1.name }.map(network)
        } else {
            checks += unknown(
                prefix: "network", names: facts.lastKnownNetworks, title: "network", plural: "networks",
                what: "whether it is active"
            )
        }
        checks.append(autostart(facts.stoppedAutostartMachines))
        checks.append(self.audit(audit, path: auditLog))
        return checks
    }

    static func libvirtd(_ libvirt: HealthFacts.Libvirt) -> HealthCheck {
        let title = "libvirtd reachable"
        switch libvirt {
        case .reachable(let latency, let version):
            let value = "answered in \(milliseconds(latency)) (libvirt \(version))"
            if latency > slowAnswer {
                return HealthCheck(
                    id: "libvirtd", title: title, status: .warning, value: value,
                    explanation: "libvirtd answers slowly, so every machine operation and statistics request waits for it.",
                    fix: "check libvirtd's load and log (journalctl -u libvirtd)"
                )
            }
            return HealthCheck(
                id: "libvirtd", title: title, status: .ok, value: value,
                explanation: "The broker reaches libvirtd, which runs the machines.", fix: nil
            )
        case .unreachable(let reason):
            return HealthCheck(
                id: "libvirtd", title: title, status: .critical, value: "unreachable: \(reason)",
                explanation: "Without libvirtd no machine can be listed, started or stopped, and the checks that ask it are unknown.",
                fix: "start libvirtd (systemctl start libvirtd); the broker reconnects by itself"
            )
        }
    }

    static func kvm(_ kvm: KvmStatus) -> HealthCheck {
        if kvm.usable {
            return HealthCheck(
                id: "kvm", title: "KVM usable", status: .ok, value: "usable: \(kvm.reason)",
                explanation: "A test guest ran at hardware speed, so machines get hardware virtualization.", fix: nil
            )
        }
        return HealthCheck(
            id: "kvm", title: "KVM usable", status: .warning, value: "not usable: \(kvm.reason)",
            explanation: "Guests run under software emulation (TCG), many times slower than with KVM.",
            fix: "enable hardware virtualization (VT-x or AMD-V) in the firmware, or nested virtualization if this host is "
                + "itself a virtual machine, and load the kvm_intel or kvm_amd module; new machines then get KVM"
        )
    }

    static func polkit(_ authorization: Duration, backend: PolkitBackend?) -> HealthCheck {
        var value = "answered in \(milliseconds(authorization))"
        if let backend { value += " (polkitd \(backend.version), \(backend.name) backend)" }
        if let backend, stallsForFifteenSeconds(backend) {
            return HealthCheck(
                id: "polkit", title: "polkit answering", status: .warning, value: value,
                explanation: "polkit 121 and 122 with the duktape JavaScript engine (Debian 12's polkitd, for one) can miss "
                    + "the signal that a rules evaluation finished; polkitd then waits out its 15 s runaway-script timeout "
                    + "and logs 'Terminating runaway script after 15 seconds'. It answers one check at a time, so every "
                    + "non-root request on the host waits those 15 s. Under load it happens about once in 100,000 checks; "
                    + "the broker logs every check slower than \(PolkitChecker.slowCheck.components.seconds) s.",
                fix: "upgrade polkitd to 123 or later (the fix is polkit commit 5615ed0; NixOS ships a fixed polkitd); "
                    + "this check cannot tell duktape from mozjs, so a 122 built with mozjs is warned about too"
            )
        }
        if authorization > slowAnswer {
            return HealthCheck(
                id: "polkit", title: "polkit answering", status: .warning, value: value,
                explanation: "polkit decides every request, so every request waits this long.",
                fix: "check polkitd's load and its rules files (journalctl -u polkit)"
            )
        }
        return HealthCheck(
            id: "polkit", title: "polkit answering", status: .ok, value: value,
            explanation: "polkit authorized this very request, as it does every request.", fix: nil
        )
    }

    /// Whether `backend` is a polkitd with the duktape lost wake-up: the JavaScript backend of
    /// polkit 121 (where duktape came in) and 122; 123 fixed it. Versions named `0.x` predate
    /// duktape.
    static func stallsForFifteenSeconds(_ backend: PolkitBackend) -> Bool {
        guard backend.name == "js", !backend.version.hasPrefix("0."),
            let major = backend.version.split(separator: ".").first.flatMap({ Int($0) })
        else { return false }
        return (121..<123).contains(major)
    }

    static func pool(_ pool: PoolStats) -> HealthCheck {
        let id = "pool:\(pool.name)"
        let title = "storage pool \(pool.name)"
        guard pool.active else {
            return HealthCheck(
                id: id, title: title, status: .critical, value: "inactive",
                explanation: "Machines with disks in this pool cannot start and no disk can be created in it.",
                fix: "start it: virsh -c qemu:///system pool-start \(pool.name) (and pool-autostart \(pool.name))"
            )
        }
        guard pool.capacityBytes > 0 else {
            return HealthCheck(
                id: id, title: title, status: .unknown, value: "reports no capacity",
                explanation: "The pool reports a size of zero, so its free space cannot be judged.",
                fix: "refresh it: virsh -c qemu:///system pool-refresh \(pool.name)"
            )
        }
        let free = Double(pool.availableBytes) / Double(pool.capacityBytes)
        let value = "\(Int((free * 100).rounded(.down)))% free (\(bytes(pool.availableBytes)) of \(bytes(pool.capacityBytes)))"
        let status: HealthStatus = free < poolCriticalFreeRatio ? .critical : free < poolWarningFreeRatio ? .warning : .ok
        guard status != .ok else {
            return HealthCheck(
                id: id, title: title, status: .ok, value: value,
                explanation: "The pool has room for its disks to grow.", fix: nil
            )
        }
        return HealthCheck(
            id: id, title: title, status: status, value: value,
            explanation: "Thin-provisioned disks in this pool pause their machines with I/O errors when it fills up.",
            fix: "free space on the pool's filesystem, delete unused machines with 'hv vm delete NAME --remove-disks', "
                + "or grow the filesystem"
        )
    }

    static func network(_ network: NetworkStatus) -> HealthCheck {
        let id = "network:\(network.name)"
        let title = "network \(network.name)"
        if network.active {
            let bridge = network.bridge.map { " on bridge \($0)" } ?? ""
            return HealthCheck(
                id: id, title: title, status: .ok, value: "active\(bridge)",
                explanation: "Machines attached to this network can start and reach it.", fix: nil
            )
        }
        if network.autostart {
            return HealthCheck(
                id: id, title: title, status: .critical, value: "inactive, but marked autostart",
                explanation: "The network should be up; machines attached to it cannot start.",
                fix: "start it: virsh -c qemu:///system net-start \(network.name)"
            )
        }
        return HealthCheck(
            id: id, title: title, status: .ok, value: "inactive (not marked autostart)",
            explanation: "The network is defined but not in use; machines attached to it cannot start until it is started.",
            fix: nil
        )
    }

    static func autostart(_ stopped: [String]?) -> HealthCheck {
        let title = "autostart machines running"
        guard let stopped else {
            return HealthCheck(
                id: "autostart", title: title, status: .unknown, value: "could not be read from libvirtd",
                explanation: "Which machines are running can only be learned from libvirtd.",
                fix: "check that libvirtd is running (systemctl start libvirtd) and see the libvirtd check"
            )
        }
        guard !stopped.isEmpty else {
            return HealthCheck(
                id: "autostart", title: title, status: .ok, value: "every autostart machine is running",
                explanation: "Machines meant to start with the host are up.", fix: nil
            )
        }
        let names = stopped.sorted()
        return HealthCheck(
            id: "autostart", title: title, status: .warning, value: "not running: \(names.joined(separator: ", "))",
            explanation: "These machines are marked to start with the host but are not running.",
            fix: "start them with 'hv vm start NAME'; 'hv vm log NAME' shows why one stopped"
        )
    }

    /// The chain since the last check (the broker keeps a checkpoint of what it verified, so this
    /// reads only what was appended since); 'hv audit verify' reads it all.
    static func audit(_ verification: AuditChain.Verification, path: String) -> HealthCheck {
        let title = "audit log intact"
        if verification.intact {
            let through = verification.head.map { ", chain intact through record \($0.seq)" } ?? ""
            return HealthCheck(
                id: "audit", title: title, status: .ok, value: "\(verification.records) records verified since the last check\(through)",
                explanation: "No audit record was edited, inserted or removed since the last check.", fix: nil
            )
        }
        let place = verification.brokenAtLine.map { "broken at line \($0)" } ?? "broken"
        let file = verification.segment.map { " of \($0)" } ?? ""
        return HealthCheck(
            id: "audit", title: title, status: .critical, value: "\(place)\(file): \(verification.reason ?? "the chain does not verify")",
            explanation: "An audit record was edited, inserted or removed, so the log no longer proves who did what.",
            fix: "keep a copy of \(path) and its segments for investigation and compare them with the journal (journalctl -t hv-broker); "
                + "'hv audit verify' checks the whole log"
        )
    }

    /// `unknown` checks for things libvirt would have listed: one per name seen before, or one
    /// for the whole kind when none was.
    static func unknown(prefix: String, names: [String], title: String, plural: String, what: String) -> [HealthCheck] {
        let entries = names.isEmpty ? [(plural, plural)] : names.sorted().map { ("\(prefix):\($0)", "\(title) \($0)") }
        return entries.map { id, title in
            HealthCheck(
                id: id, title: title, status: .unknown, value: "could not be read from libvirtd",
                explanation: "The \(plural)' \(what) can only be learned from libvirtd.",
                fix: "check that libvirtd is running (systemctl start libvirtd) and see the libvirtd check"
            )
        }
    }

    static func milliseconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) * 1_000 + Double(duration.components.attoseconds) / 1e15
        return value < 10 ? String(format: "%.1f ms", value) : "\(Int(value.rounded())) ms"
    }

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f ", value) + units[unit]
    }
}
