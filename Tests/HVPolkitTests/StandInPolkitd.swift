import CSystemd
import Foundation
import HVTestSupport
import Synchronization

/// A private D-Bus daemon with a stand-in for polkitd on it: it owns polkitd's name, records every
/// `CheckAuthorization` as polkitd reads it, and answers with `answer` (nil: never answers, as a
/// hung polkitd). It also answers the `BackendName` and `BackendVersion` properties.
final class StandInPolkitd: @unchecked Sendable {
    /// A call as polkitd reads it: the subject's kind and details, the action, the details, the
    /// flags and the cancellation id.
    struct Call: Sendable, Equatable {
        var kind: String
        var subject: [String: String]
        var action: String
        var details: [String: String]
        var flags: UInt32
        var cancellationID: String
    }

    let address: String
    private let directory: TemporaryDirectory
    private let daemon: Child
    private let calls = Mutex<[Call]>([])
    private let stopping = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let answer: (authorized: Bool, challenge: Bool)?

    init(answer: (authorized: Bool, challenge: Bool)?) throws {
        self.answer = answer
        directory = try TemporaryDirectory("hv-polkit")
        let socket = directory.file("bus")
        let configuration = try directory.write(
            "bus.conf",
            """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>custom</type>
              <listen>unix:path=\(socket)</listen>
              <auth>EXTERNAL</auth>
              <policy context="default"><allow send_destination="*"/><allow receive_sender="*"/><allow own="*"/></policy>
            </busconfig>
            """
        )
        daemon = try Child(["/usr/bin/dbus-daemon", "--config-file=\(configuration)", "--nofork"], output: directory.file("bus.log"))
        address = "unix:path=\(socket)"
        guard waitUntil(10, { FileManager.default.fileExists(atPath: socket) }) else {
            throw SetupError("dbus-daemon did not listen: \((try? String(contentsOfFile: directory.file("bus.log"), encoding: .utf8)) ?? "")")
        }
        let ready = DispatchSemaphore(value: 0)
        let failure = Locked<String?>(nil)
        Thread { [self] in serve(ready: ready, failure: failure) }.start()
        ready.wait()
        if let failure = failure.get() { throw SetupError(failure) }
    }

    var received: [Call] { calls.withLock { $0 } }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        done.wait()
        daemon.stop()
        try? FileManager.default.removeItem(atPath: directory.path)
    }

    private func serve(ready: DispatchSemaphore, failure: Locked<String?>) {
        defer { done.signal() }
        var bus: OpaquePointer?
        var result = sd_bus_new(&bus)
        if result >= 0 { result = sd_bus_set_address(bus, address) }
        if result >= 0 { result = sd_bus_set_bus_client(bus, 1) }
        if result >= 0 { result = sd_bus_start(bus) }
        if result >= 0 { result = sd_bus_request_name(bus, "org.freedesktop.PolicyKit1", 0) }
        guard result >= 0 else {
            failure.set("the stand-in polkitd could not own its name: \(String(cString: strerror(-result)))")
            ready.signal()
            return
        }
        defer { sd_bus_flush_close_unref(bus) }
        ready.signal()
        while !stopping.load(ordering: .relaxed) {
            var message: OpaquePointer?
            guard sd_bus_process(bus, &message) >= 0 else { return }
            guard let message else {
                _ = sd_bus_wait(bus, 50_000)
                continue
            }
            defer { sd_bus_message_unref(message) }
            if sd_bus_message_is_method_call(message, "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization") > 0 {
                calls.withLock { $0.append(Self.read(message)) }
                if let answer { reply(bus, to: message, answer) }
            } else if sd_bus_message_is_method_call(message, "org.freedesktop.DBus.Properties", "Get") > 0 {
                replyProperty(bus, to: message)
            }
        }
    }

    private static func code(_ type: Character) -> CChar { CChar(bitPattern: type.asciiValue!) }

    private static func string(_ message: OpaquePointer) -> String {
        var value: UnsafePointer<CChar>?
        guard sd_bus_message_read_basic(message, code("s"), &value) >= 0, let value else { return "?" }
        return String(cString: value)
    }

    /// The call as polkitd reads it, the subject's values written with their D-Bus type (`u 42`).
    private static func read(_ message: OpaquePointer) -> Call {
        var call = Call(kind: "", subject: [:], action: "", details: [:], flags: 0, cancellationID: "")
        sd_bus_message_enter_container(message, code("r"), "sa{sv}")
        call.kind = string(message)
        sd_bus_message_enter_container(message, code("a"), "{sv}")
        while sd_bus_message_enter_container(message, code("e"), "sv") > 0 {
            let key = string(message)
            var type: CChar = 0
            var contents: UnsafePointer<CChar>?
            sd_bus_message_peek_type(message, &type, &contents)
            let signature = contents.map { String(cString: $0) } ?? "?"
            sd_bus_message_enter_container(message, code("v"), signature)
            var value = ""
            switch signature {
            case "u":
                var number: UInt32 = 0
                sd_bus_message_read_basic(message, code("u"), &number)
                value = "u \(number)"
            case "t":
                var number: UInt64 = 0
                sd_bus_message_read_basic(message, code("t"), &number)
                value = "t \(number)"
            case "i":
                var number: Int32 = 0
                sd_bus_message_read_basic(message, code("i"), &number)
                value = "i \(number)"
            default:
                value = signature
            }
            sd_bus_message_exit_container(message)
            sd_bus_message_exit_container(message)
            call.subject[key] = value
        }
        sd_bus_message_exit_container(message)
        sd_bus_message_exit_container(message)
        call.action = string(message)
        sd_bus_message_enter_container(message, code("a"), "{ss}")
        while sd_bus_message_enter_container(message, code("e"), "ss") > 0 {
            let key = string(message)
            call.details[key] = string(message)
            sd_bus_message_exit_container(message)
        }
        sd_bus_message_exit_container(message)
        sd_bus_message_read_basic(message, code("u"), &call.flags)
        call.cancellationID = string(message)
        return call
    }

    private func reply(_ bus: OpaquePointer?, to call: OpaquePointer, _ answer: (authorized: Bool, challenge: Bool)) {
        var reply: OpaquePointer?
        guard sd_bus_message_new_method_return(call, &reply) >= 0 else { return }
        defer { sd_bus_message_unref(reply) }
        var authorized: Int32 = answer.authorized ? 1 : 0
        var challenge: Int32 = answer.challenge ? 1 : 0
        sd_bus_message_open_container(reply, Self.code("r"), "bba{ss}")
        sd_bus_message_append_basic(reply, Self.code("b"), &authorized)
        sd_bus_message_append_basic(reply, Self.code("b"), &challenge)
        sd_bus_message_open_container(reply, Self.code("a"), "{ss}")
        sd_bus_message_close_container(reply)
        sd_bus_message_close_container(reply)
        sd_bus_send(bus, reply, nil)
    }

    private func replyProperty(_ bus: OpaquePointer?, to call: OpaquePointer) {
        _ = Self.string(call)
        let name = Self.string(call)
        var reply: OpaquePointer?
        guard sd_bus_message_new_method_return(call, &reply) >= 0 else { return }
        defer { sd_bus_message_unref(reply) }
        sd_bus_message_open_container(reply, Self.code("v"), "s")
        _ = (name == "BackendName" ? "js" : name == "BackendVersion" ? "122" : "").withCString {
            sd_bus_message_append_basic(reply, Self.code("s"), $0)
        }
        sd_bus_message_close_container(reply)
        sd_bus_send(bus, reply, nil)
    }
}
