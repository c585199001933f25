import CPolkit
import Dispatch

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

/// Cancels a GCancellable when a timer fires, unless disarmed first. The GCancellable is
/// thread-safe; the timer runs on a Dispatch queue of its own.
private final class Deadline: @unchecked Sendable {
    private static let queue = DispatchQueue(label: "org.hypernixos.polkit-deadline")
    private let cancellable: UnsafeMutablePointer<GCancellable>?
    private var timer: DispatchWorkItem?
    private var fired = false

    init(_ cancellable: UnsafeMutablePointer<GCancellable>?) {
        self.cancellable = cancellable
        g_object_ref(UnsafeMutableRawPointer(cancellable))
    }

    deinit { g_object_unref(UnsafeMutableRawPointer(cancellable)) }

    func arm(after timeout: Duration) {
        let item = DispatchWorkItem { [self] in
            fired = true
            g_cancellable_cancel(cancellable)
        }
        Self.queue.sync { timer = item }
        Self.queue.asyncAfter(deadline: .now() + .nanoseconds(Int(timeout.wholeNanoseconds)), execute: item)
    }

    /// Stops the timer; true when it had already fired.
    func disarm() -> Bool {
        Self.queue.sync {
            timer?.cancel()
            return fired
        }
    }
}

extension Duration {
    var wholeSeconds: Int64 { components.seconds }
    var wholeNanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

/// A connection to polkitd through the system bus. Every call blocks; run them off event loops.
public final class PolkitAuthority: @unchecked Sendable {
    private let authority: OpaquePointer

    public init() throws(PolkitError) {
        var error: UnsafeMutablePointer<GError>?
        guard let authority = polkit_authority_get_sync(nil, &error) else {
            throw PolkitError(message: Self.consume(error, fallback: "could not connect to polkit"))
        }
        self.authority = authority
    }

    deinit {
        g_object_unref(UnsafeMutableRawPointer(authority))
    }

    /// Asks polkit whether `subject` may perform `action`, without any interaction. `details` name
    /// the object (rules read them with `action.lookup(key)`); polkitd accepts details only from
    /// root or the action's owner, so a rule can trust them.
    ///
    /// A polkitd that does not answer within `timeout` (one that hangs, or is stopped with
    /// SIGSTOP) makes the call fail rather than hold its thread for ever: the call is cancelled.
    public func check(
        action: String, subject: PolkitSubject, details: [String: String] = [:], timeout: Duration = .seconds(25)
    ) throws(PolkitError) -> PolkitDecision {
        guard let process = polkit_unix_process_new_for_owner(
            Int32(subject.pid), guint64(subject.startTime), Int32(bitPattern: subject.uid)
        ) else {
            throw PolkitError(message: "could not describe process \(subject.pid) to polkit")
        }
        defer { g_object_unref(UnsafeMutableRawPointer(process)) }

        let polkitDetails: OpaquePointer? = details.isEmpty ? nil : polkit_details_new()
        defer { if let polkitDetails { g_object_unref(UnsafeMutableRawPointer(polkitDetails)) } }
        for (key, value) in details.sorted(by: { $0.key < $1.key }) {
            polkit_details_insert(polkitDetails, key, value)
        }

        let cancellable = g_cancellable_new()
        defer { g_object_unref(UnsafeMutableRawPointer(cancellable)) }
        let deadline = Deadline(cancellable)
        deadline.arm(after: timeout)
        var error: UnsafeMutablePointer<GError>?
        let answer = polkit_authority_check_authorization_sync(
            authority, process, action, polkitDetails, POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE, cancellable, &error
        )
        let expired = deadline.disarm()
        guard let result = answer else {
            let message = Self.consume(error, fallback: "polkit did not answer")
            if expired {
                throw PolkitError(message: "polkitd did not answer within \(timeout.wholeSeconds) s", timedOut: true)
            }
            throw PolkitError(message: message)
        }
        defer { g_object_unref(UnsafeMutableRawPointer(result)) }

        if polkit_authorization_result_get_is_authorized(result) != 0 { return .authorized }
        if polkit_authorization_result_get_is_challenge(result) != 0 { return .challenge }
        return .notAuthorized
    }

    /// The backend polkitd runs: for the JavaScript rules engine `js` and polkit's version.
    public var backend: PolkitBackend {
        PolkitBackend(
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
