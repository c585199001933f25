import CPolkit
import Foundation
import Synchronization

/// The process polkit judges: the peer of a broker connection, as the kernel reported it.
public struct PolkitSubject: Sendable, Hashable {
    public var pid: Int32
    public var uid: UInt32
    /// The process start time in clock ticks since boot (field 22 of /proc/PID/stat). Together with
    /// the pid it names one process, so a recycled pid can't inherit another's authorization.
    public var startTime: UInt64

    public init(pid: Int32, uid: UInt32, startTime: UInt64) {
        self.pid = pid
        self.uid = uid
        self.startTime = startTime
    }
}

public enum PolkitDecision: Sendable, Hashable {
    case authorized
    /// polkit would allow it after authentication; the broker never authenticates, so this is a no.
    case challenge
    case notAuthorized
}

/// Which polkitd answers, as it reports itself over D-Bus.
public struct PolkitBackend: Sendable, Hashable {
    /// `js` for the JavaScript rules engine (mozjs or duktape: polkitd does not say which).
    public var name: String
    /// polkit's version, e.g. `122`; versions before 0.106 carry a `0.` prefix.
    public var version: String

    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }
}

/// polkit could not be asked: no system bus, no polkitd, or a polkitd that did not answer in time.
public struct PolkitError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    /// polkitd was reached but did not answer within the check's timeout.
    public var timedOut = false
    public var description: String { message }
}

extension Duration {
    var wholeSeconds: Int64 { components.seconds }
}

/// polkitd, asked over the system bus. Thread-safe: each call takes a connection of its own from
/// those idle (opening one when none is), so calls from several threads run side by side.
///
/// A check speaks polkit's D-Bus interface (`CheckAuthorization`) through sd-bus: the call is
/// written and its answer read on the calling thread. polkit's own client library hands every call
/// to GDBus's worker thread and back, which costs the caller five times the CPU or more
/// (docs/BENCHMARKS.md, "Since: polkit asked through sd-bus"); it still answers the rare question
/// of which backend polkitd runs.
public final class PolkitAuthority: Sendable {
    private static let destination = "org.freedesktop.PolicyKit1"
    private static let path = "/org/freedesktop/PolicyKit1/Authority"
    private static let interface = "org.freedesktop.PolicyKit1.Authority"

    /// Connections not in use. A connection is used by one thread at a time.
    private let idle = Mutex<[SystemBusBox]>([])
    /// More messages than this waiting unasked on an idle connection, and it is closed rather
    /// than read to the end before the next check.
    private let backlogLimit: Int

    /// Connects to the system bus, so that a missing bus is reported here rather than at the first check.
    public convenience init() throws(PolkitError) {
        try self.init(backlogLimit: 10_000)
    }

    init(backlogLimit: Int) throws(PolkitError) {
        self.backlogLimit = backlogLimit
        do throws(BusError) {
            let bus = SystemBusBox(try SystemBus())
            idle.withLock { $0.append(bus) }
        } catch {
            throw PolkitError(message: error.message)
        }
    }

    /// Asks polkit whether `subject` may perform `action`, without any interaction. `details` name
    /// the object (rules read them with `action.lookup(key)`); polkitd accepts details only from
    /// root or the action's owner, so a rule can trust them.
    ///
    /// A polkitd that does not answer within `timeout` (one that hangs, or is stopped with
    /// SIGSTOP) makes the call fail rather than hold its thread for ever.
    public func check(
        action: String, subject: PolkitSubject, details: [String: String] = [:], timeout: Duration = .seconds(25)
    ) throws(PolkitError) -> PolkitDecision {
        do throws(BusError) {
            let bus: SystemBusBox
            if let waiting = idle.withLock({ $0.popLast() }), waiting.bus.discardUnasked(limit: backlogLimit) {
                bus = waiting
            } else {
                bus = SystemBusBox(try SystemBus())
            }
            let answer = try Self.check(bus.bus, action: action, subject: subject, details: details, timeout: timeout)
            idle.withLock { $0.append(bus) }
            return answer
        } catch {
            // The connection is dropped: the bus may have gone, or a late answer may still come.
            if error.timedOut {
                throw PolkitError(message: "polkitd did not answer within \(timeout.wholeSeconds) s", timedOut: true)
            }
            throw PolkitError(message: error.message)
        }
    }

    private static func check(
        _ bus: SystemBus, action: String, subject: PolkitSubject, details: [String: String], timeout: Duration
    ) throws(BusError) -> PolkitDecision {
        let call = try bus.methodCall(destination: destination, path: path, interface: interface, member: "CheckAuthorization")
        // The subject, as polkit's own client describes a process: kind, then pid, start time and uid.
        try call.container("r", "sa{sv}") { () throws(BusError) in
            try call.append("unix-process")
            try call.container("a", "{sv}") { () throws(BusError) in
                try call.container("e", "sv") { () throws(BusError) in
                    try call.append("pid")
                    try call.container("v", "u") { () throws(BusError) in try call.append(UInt32(bitPattern: subject.pid)) }
                }
                try call.container("e", "sv") { () throws(BusError) in
                    try call.append("start-time")
                    try call.container("v", "t") { () throws(BusError) in try call.append(subject.startTime) }
                }
                try call.container("e", "sv") { () throws(BusError) in
                    try call.append("uid")
                    try call.container("v", "i") { () throws(BusError) in try call.append(Int32(bitPattern: subject.uid)) }
                }
            }
        }
        try call.append(action)
        try call.container("a", "{ss}") { () throws(BusError) in
            for (key, value) in details.sorted(by: { $0.key < $1.key }) {
                try call.container("e", "ss") { () throws(BusError) in
                    try call.append(key)
                    try call.append(value)
                }
            }
        }
        try call.append(UInt32(0))  // flags: no interaction
        try call.append("")  // no cancellation id
        let reply = try bus.call(call, timeout: timeout)
        try reply.enter("r", "bba{ss}")
        if try reply.readBool() { return .authorized }
        if try reply.readBool() { return .challenge }
        return .notAuthorized
    }

    /// The bus names of the connections not in use.
    var idleNames: [String] {
        idle.withLock { $0.compactMap(\.bus.uniqueName) }
    }

    /// The backend polkitd runs: for the JavaScript rules engine `js` and polkit's version. Asked
    /// through polkit's own client library; blocking.
    public static func backend() throws(PolkitError) -> PolkitBackend {
        var error: UnsafeMutablePointer<GError>?
        guard let authority = polkit_authority_get_sync(nil, &error) else {
            throw PolkitError(message: consume(error, fallback: "could not connect to polkit"))
        }
        defer { g_object_unref(UnsafeMutableRawPointer(authority)) }
        return PolkitBackend(
            name: polkit_authority_get_backend_name(authority).map { String(cString: $0) } ?? "",
            version: polkit_authority_get_backend_version(authority).map { String(cString: $0) } ?? ""
        )
    }

    /// Returns the message of a GError and frees it.
    private static func consume(_ error: UnsafeMutablePointer<GError>?, fallback: String) -> String {
        guard let error else { return fallback }
        defer { g_error_free(error) }
        return error.pointee.message.map { String(cString: $0) } ?? fallback
    }
}

/// An idle connection, moved between threads only through the authority's lock.
private final class SystemBusBox: @unchecked Sendable {
    let bus: SystemBus
    init(_ bus: SystemBus) { self.bus = bus }
}
