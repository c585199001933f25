import CSystemd
import Glibc

/// A D-Bus call that failed: the bus could not be reached, the peer answered with an error, or no
/// answer came in time.
struct BusError: Error, Sendable {
    /// The D-Bus error's name when the peer answered with one (the connection is still good).
    var name: String?
    var message: String
    /// The errno sd-bus returned.
    var errno: Int32

    var timedOut: Bool { errno == ETIMEDOUT }

    init(_ result: Int32, _ error: inout sd_bus_error, doing what: String) {
        errno = -result
        name = error.name.map { String(cString: $0) }
        message = error.message.map { String(cString: $0) } ?? "\(what): \(String(cString: strerror(-result)))"
        sd_bus_error_free(&error)
    }

    init(_ result: Int32, doing what: String) {
        var none = sd_bus_error()
        self.init(result, &none, doing: what)
    }
}

/// One connection to the system bus through sd-bus. A call is written and its answer read on the
/// calling thread, with no worker thread of its own. Not thread-safe: use it from one thread at a
/// time.
final class SystemBus {
    private let bus: OpaquePointer

    init() throws(BusError) {
        var bus: OpaquePointer?
        let result = sd_bus_open_system(&bus)
        guard result >= 0, let bus else { throw BusError(result, doing: "could not connect to the system bus") }
        self.bus = bus
    }

    deinit {
        sd_bus_flush_close_unref(bus)
    }

    /// A method call to fill with `BusMessage`'s appends.
    func methodCall(destination: String, path: String, interface: String, member: String) throws(BusError) -> BusMessage {
        var message: OpaquePointer?
        let result = sd_bus_message_new_method_call(bus, &message, destination, path, interface, member)
        guard result >= 0, let message else { throw BusError(result, doing: "could not make a D-Bus call") }
        return BusMessage(message)
    }

    /// Sends `message` and waits for its answer at most `timeout`.
    func call(_ message: BusMessage, timeout: Duration) throws(BusError) -> BusMessage {
        var error = sd_bus_error()
        var reply: OpaquePointer?
        let microseconds = UInt64(timeout.components.seconds) * 1_000_000 + UInt64(timeout.components.attoseconds / 1_000_000_000_000)
        let result = sd_bus_call(bus, message.message, microseconds, &error, &reply)
        guard result >= 0, let reply else { throw BusError(result, &error, doing: "the D-Bus call failed") }
        return BusMessage(reply)
    }

    /// The connection's name on the bus.
    var uniqueName: String? {
        var name: UnsafePointer<CChar>?
        guard sd_bus_get_unique_name(bus, &name) >= 0, let name else { return nil }
        return String(cString: name)
    }

    /// Reads and drops what reached the connection unasked: a call waits only for its own answer,
    /// so a late answer to a call that timed out, or a signal another process sent (any local user
    /// may send one to any connection), stays queued until dropped here. False when more than
    /// `limit` messages waited: someone floods the connection, and it is better closed.
    func discardUnasked(limit: Int) -> Bool {
        for _ in 0..<limit where sd_bus_process(bus, nil) <= 0 { return true }
        return false
    }
}

/// A D-Bus message being written or read, freed when the last reference goes.
final class BusMessage {
    fileprivate let message: OpaquePointer

    fileprivate init(_ message: OpaquePointer) {
        self.message = message
    }

    deinit {
        sd_bus_message_unref(message)
    }

    func append(_ value: String) throws(BusError) {
        try check(sd_bus_message_append_basic(message, CChar(UInt8(ascii: "s")), value), "write a string")
    }

    func append(_ value: UInt32) throws(BusError) {
        try check(withUnsafePointer(to: value) { sd_bus_message_append_basic(message, CChar(UInt8(ascii: "u")), $0) }, "write a number")
    }

    func append(_ value: Int32) throws(BusError) {
        try check(withUnsafePointer(to: value) { sd_bus_message_append_basic(message, CChar(UInt8(ascii: "i")), $0) }, "write a number")
    }

    func append(_ value: UInt64) throws(BusError) {
        try check(withUnsafePointer(to: value) { sd_bus_message_append_basic(message, CChar(UInt8(ascii: "t")), $0) }, "write a number")
    }

    /// Writes a container (`r` struct, `a` array, `e` dictionary entry, `v` variant) whose
    /// contents `write` appends.
    func container(_ type: Character, _ contents: String, _ write: () throws(BusError) -> Void) throws(BusError) {
        try check(sd_bus_message_open_container(message, CChar(type.asciiValue ?? 0), contents), "open a container")
        try write()
        try check(sd_bus_message_close_container(message), "close a container")
    }

    /// Enters a container of the answer.
    func enter(_ type: Character, _ contents: String) throws(BusError) {
        try read(sd_bus_message_enter_container(message, CChar(type.asciiValue ?? 0), contents), "a container")
    }

    func readBool() throws(BusError) -> Bool {
        var value: Int32 = 0
        try read(sd_bus_message_read_basic(message, CChar(UInt8(ascii: "b")), &value), "a boolean")
        return value != 0
    }

    private func check(_ result: Int32, _ what: String) throws(BusError) {
        guard result >= 0 else { throw BusError(result, doing: "could not \(what) of a D-Bus message") }
    }

    /// Reading returns 0 at the end of the message: an answer shorter than its signature.
    private func read(_ result: Int32, _ what: String) throws(BusError) {
        guard result > 0 else { throw BusError(result == 0 ? -EBADMSG : result, doing: "could not read \(what) from a D-Bus answer") }
    }
}
