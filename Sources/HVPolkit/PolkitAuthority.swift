import CSystemd
import Glibc

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
    var microseconds: UInt64 { UInt64(max(0, components.seconds)) * 1_000_000 + UInt64(max(0, components.attoseconds)) / 1_000_000_000_000 }
}

/// A connection to polkitd through the system bus, over sd-bus: the calling thread writes the call
/// and reads the answer itself, with no thread of the library's own in between. One connection
/// serves one thread at a time; `PolkitChecker` keeps one for each of its threads.
public final class PolkitAuthority: @unchecked Sendable {
    static let service = "org.freedesktop.PolicyKit1"
    static let path = "/org/freedesktop/PolicyKit1/Authority"
    static let interface = "org.freedesktop.PolicyKit1.Authority"

    private let bus: OpaquePointer

    /// - Parameter address: the bus polkitd is on, as a D-Bus address; nil for the system bus.
    public init(address: String? = nil) throws(PolkitError) {
        var bus: OpaquePointer?
        var result = address == nil ? sd_bus_open_system(&bus) : sd_bus_new(&bus)
        if let address, result >= 0 {
            result = sd_bus_set_address(bus, address)
            if result >= 0 { result = sd_bus_set_bus_client(bus, 1) }
            if result >= 0 { result = sd_bus_start(bus) }
            if result < 0 { sd_bus_unref(bus) }
        }
        guard result >= 0, let bus else {
            throw PolkitError(message: "could not connect to the system bus: \(String(cString: strerror(-result)))")
        }
        self.bus = bus
    }

    deinit {
        sd_bus_flush_close_unref(bus)
    }

    /// Asks polkit whether `subject` may perform `action`, without any interaction. `details` name
    /// the object (rules read them with `action.lookup(key)`); polkitd accepts details only from
    /// root or the action's owner, so a rule can trust them.
    ///
    /// The call is the one libpolkit makes (`CheckAuthorization` with the subject a `unix-process`
    /// of pid, start time and uid). A polkitd that does not answer within `timeout` (one that
    /// hangs, or is stopped with SIGSTOP) makes the call fail rather than hold its thread for ever.
    public func check(
        action: String, subject: PolkitSubject, details: [String: String] = [:], timeout: Duration = .seconds(25)
    ) throws(PolkitError) -> PolkitDecision {
        var pointer: OpaquePointer?
        try BusMessage.check(
            sd_bus_message_new_method_call(bus, &pointer, Self.service, Self.path, Self.interface, "CheckAuthorization"),
            "describe the check"
        )
        guard let pointer else { throw PolkitError(message: "could not describe the check") }
        defer { sd_bus_message_unref(pointer) }
        let call = BusMessage(pointer)
        try call.open("r", "sa{sv}")
        try call.append("unix-process")
        try call.open("a", "{sv}")
        try call.entry("pid", "u") { () throws(PolkitError) in try call.append(UInt32(bitPattern: subject.pid)) }
        try call.entry("start-time", "t") { () throws(PolkitError) in try call.append(subject.startTime) }
        try call.entry("uid", "i") { () throws(PolkitError) in try call.append(Int32(bitPattern: subject.uid)) }
        try call.close()
        try call.close()
        try call.append(action)
        try call.open("a", "{ss}")
        for (key, value) in details.sorted(by: { $0.key < $1.key }) {
            try call.open("e", "ss")
            try call.append(key)
            try call.append(value)
            try call.close()
        }
        try call.close()
        // No interaction; no cancellation id, since a call that times out is abandoned with its connection.
        try call.append(UInt32(0))
        try call.append("")

        let reply = try send(pointer, timeout: timeout)
        defer { sd_bus_message_unref(reply) }
        let answer = BusMessage(reply)
        try answer.enter("r", "bba{ss}")
        if try answer.readBool() { return .authorized }
        if try answer.readBool() { return .challenge }
        return .notAuthorized
    }

    /// The backend polkitd runs: for the JavaScript rules engine `js` and polkit's version.
    public var backend: PolkitBackend {
        PolkitBackend(name: property("BackendName") ?? "", version: property("BackendVersion") ?? "")
    }

    private func property(_ name: String) -> String? {
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var value: UnsafeMutablePointer<CChar>?
        guard sd_bus_get_property_string(bus, Self.service, Self.path, Self.interface, name, &error, &value) >= 0, let value else {
            return nil
        }
        defer { free(value) }
        return String(cString: value)
    }

    /// Sends the call and waits up to `timeout` for its reply.
    private func send(_ call: OpaquePointer, timeout: Duration) throws(PolkitError) -> OpaquePointer {
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var reply: OpaquePointer?
        let result = sd_bus_call(bus, call, timeout.microseconds, &error, &reply)
        guard result >= 0, let reply else {
            if result == -ETIMEDOUT {
                throw PolkitError(message: "polkitd did not answer within \(timeout.wholeSeconds) s", timedOut: true)
            }
            if let name = error.name, let message = error.message {
                throw PolkitError(message: "\(String(cString: name)): \(String(cString: message))")
            }
            throw PolkitError(message: "polkit did not answer: \(String(cString: strerror(-result)))")
        }
        return reply
    }
}

/// One D-Bus message, written or read a value at a time (sd-bus's variadic calls don't reach Swift).
private struct BusMessage {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    static func check(_ result: Int32, _ doing: String) throws(PolkitError) {
        guard result < 0 else { return }
        throw PolkitError(message: "could not \(doing): \(String(cString: strerror(-result)))")
    }

    private static func code(_ type: Character) -> CChar {
        CChar(bitPattern: type.asciiValue!)
    }

    func open(_ type: Character, _ contents: String) throws(PolkitError) {
        try Self.check(sd_bus_message_open_container(pointer, Self.code(type), contents), "write the check")
    }

    func close() throws(PolkitError) {
        try Self.check(sd_bus_message_close_container(pointer), "write the check")
    }

    /// A dictionary entry whose value is a variant of `type`, written by `value`.
    func entry(_ key: String, _ type: String, _ value: () throws(PolkitError) -> Void) throws(PolkitError) {
        try open("e", "sv")
        try append(key)
        try open("v", type)
        try value()
        try close()
        try close()
    }

    func append(_ text: String) throws(PolkitError) {
        try Self.check(text.withCString { sd_bus_message_append_basic(pointer, Self.code("s"), $0) }, "write the check")
    }

    func append<Value: FixedWidthInteger>(_ value: Value) throws(PolkitError) {
        let type: Character = Value.self == UInt32.self ? "u" : Value.self == UInt64.self ? "t" : "i"
        var value = value
        try Self.check(sd_bus_message_append_basic(pointer, Self.code(type), &value), "write the check")
    }

    func enter(_ type: Character, _ contents: String) throws(PolkitError) {
        try Self.check(sd_bus_message_enter_container(pointer, Self.code(type), contents), "read polkit's answer")
    }

    func readBool() throws(PolkitError) -> Bool {
        var value: Int32 = 0
        try Self.check(sd_bus_message_read_basic(pointer, Self.code("b"), &value), "read polkit's answer")
        return value != 0
    }
}
