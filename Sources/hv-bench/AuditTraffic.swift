import Foundation
import HVAudit

/// The requests of a busy host as its broker records them, made up the same way every run: the
/// monitor's `Host.Stats` and `Host.Health`, operators listing and looking at their machines,
/// starting and stopping them (a change is two records: the intent, then the outcome), reading
/// consoles, and now and then a refusal or a malformed call. One request a second, so ten
/// million records are four months of a host's life.
struct AuditTraffic {
    /// Seconds between two requests.
    static let spacing = 1.0

    private var random = SplitMix64(seed: 0x6876_2d61_7564_6974)
    /// The second record of a change, written after its intent.
    private var outcome: AuditRecord?

    /// The time of record `index` of `count`, so the last one is `end`.
    static func time(_ index: Int, of count: Int, endingAt end: Date) -> Date {
        end.addingTimeInterval(-Double(count - 1 - index) * spacing)
    }

    /// The next record, at `time`.
    mutating func next(at time: Date) -> AuditRecord {
        let stamp = AuditRecord.timestamp(time)
        if var pending = outcome {
            outcome = nil
            pending.time = stamp
            return pending
        }
        let roll = random.next(below: 100)
        if roll < 8 {
            let health = roll == 0
            return record(
                stamp, uid: 990, pid: 2_000, executable: "/run/current-system/sw/bin/hv-monitor",
                method: health ? "Host.Health" : "Host.Stats", target: "", milliseconds: health ? 12 : 4
            )
        }
        let user = UInt32(1_000 + random.next(below: 20))
        let machine = "vm-\(user)-\(random.next(below: 12))"
        let pid = Int32(10_000 + random.next(below: 50_000))
        let hv = "/run/current-system/sw/bin/hv"
        switch roll {
        case 8..<40: return record(stamp, uid: user, pid: pid, executable: hv, method: "Vm.List", target: "", milliseconds: 3)
        case 40..<65: return record(stamp, uid: user, pid: pid, executable: hv, method: "Vm.Info", target: machine, milliseconds: 2)
        case 65..<72: return record(stamp, uid: user, pid: pid, executable: hv, method: "Host.Info", target: "", milliseconds: 2)
        case 72..<78: return record(stamp, uid: user, pid: pid, executable: hv, method: "Vm.Console", target: machine, milliseconds: 5)
        case 78..<92:
            let method = ["Vm.Start", "Vm.Shutdown", "Vm.Reboot", "Snapshot.Create"][random.next(below: 4)]
            var intent = record(stamp, uid: user, pid: pid, executable: hv, method: method, target: machine, milliseconds: 3)
            intent.result = "started"
            var done = intent
            done.result = random.next(below: 20) == 0 ? "org.hypernixos.\(method.prefix { $0 != "." }).Failed" : "ok"
            done.durationMs = milliseconds(around: 400)
            outcome = done
            return intent
        case 92..<96:
            var denied = record(stamp, uid: user, pid: pid, executable: hv, method: "Vm.Kill", target: "vm-\(user + 1)-0", milliseconds: 2)
            denied.decision = "denied"
            denied.result = "org.hypernixos.Vm.PermissionDenied"
            return denied
        default:
            var invalid = record(stamp, uid: user, pid: pid, executable: hv, method: "Vm.Info", target: "", milliseconds: 0.2)
            invalid.action = ""
            invalid.decision = "invalid"
            invalid.result = "org.varlink.service.InvalidParameter"
            return invalid
        }
    }

    /// An allowed request of `method` (`Interface.Member`) that succeeded.
    private mutating func record(
        _ time: String, uid: UInt32, pid: Int32, executable: String, method: String, target: String, milliseconds typical: Double
    ) -> AuditRecord {
        AuditRecord(
            time: time, uid: uid, gid: uid == 990 ? 990 : 100, pid: pid, executable: executable, method: "org.hypernixos." + method,
            action: "org.hypernixos." + method.lowercased(), target: target, decision: "allowed", result: "ok", durationMs: milliseconds(around: typical)
        )
    }

    /// A duration near `typical`, in microsecond steps as the broker records them.
    private mutating func milliseconds(around typical: Double) -> Double {
        let spread = Double(random.next(below: 1_000)) / 1_000
        return ((typical * (0.5 + spread)) * 1_000).rounded() / 1_000
    }
}

/// A small, fast generator of pseudo-random numbers (SplitMix64), so every run writes the same history.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    /// A number in `0..<bound`.
    mutating func next(below bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }
}
