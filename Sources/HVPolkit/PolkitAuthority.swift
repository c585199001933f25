import CPolkit
import Foundation

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

/// Cancels the polkit calls that run past their deadline. One thread watches every call in
/// flight, so a call costs two short locked steps rather than a timer of its own (a timer per call
/// lingered, holding the call's cancellable, until its deadline had passed, long after the call).
///
/// The thread sleeps until the earliest deadline and is woken only when a call comes with an
/// earlier one than it sleeps for: under a steady stream of calls it wakes once per timeout.
final class PolkitWatchdog: @unchecked Sendable {
    static let shared = PolkitWatchdog()

    private struct Watched {
        let deadline: ContinuousClock.Instant
        let expire: @Sendable () -> Void
        var fired = false
    }

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var watched: [UInt64: Watched] = [:]
    /// Calls whose `expire` runs now, outside the lock.
    private var expiring: Set<UInt64> = []
    private var lastID: UInt64 = 0
    private var running = false
    /// The deadline the thread sleeps until; nil while it sleeps until woken.
    private var sleepsUntil: ContinuousClock.Instant?

    /// Runs `expire` (on the watchdog's thread) once `timeout` has passed, unless `release` comes first.
    func watch(for timeout: Duration, expire: @escaping @Sendable () -> Void) -> UInt64 {
        let deadline = ContinuousClock.now + timeout
        condition.lock()
        defer { condition.unlock() }
        if !running {
            running = true
            let thread = Thread { [self] in run() }
            thread.name = "polkit-deadlines"
            thread.start()
        }
        lastID += 1
        watched[lastID] = Watched(deadline: deadline, expire: expire)
        if sleepsUntil.map({ deadline < $0 }) ?? true { condition.signal() }
        return lastID
    }

    /// Calls watched now.
    var watching: Int {
        condition.lock()
        defer { condition.unlock() }
        return watched.count
    }

    /// Stops watching; true when the deadline had passed and `expire` ran. Once it returns,
    /// `expire` has finished and will not run.
    func release(_ id: UInt64) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while expiring.contains(id) { condition.wait() }
        return watched.removeValue(forKey: id)?.fired ?? false
    }

    private func run() {
        condition.lock()
        while true {
            let now = ContinuousClock.now
            let due = watched.filter { !$0.value.fired && $0.value.deadline <= now }
            if !due.isEmpty {
                for id in due.keys {
                    watched[id]?.fired = true
                    expiring.insert(id)
                }
                condition.unlock()
                for entry in due.values { entry.expire() }
                condition.lock()
                expiring.subtract(due.keys)
                condition.broadcast()
                continue
            }
            sleepsUntil = watched.values.filter { !$0.fired }.map(\.deadline).min()
            if let until = sleepsUntil {
                _ = condition.wait(until: Date(timeIntervalSinceNow: (until - now).seconds))
            } else {
                condition.wait()
            }
        }
    }
}

extension Duration {
    var wholeSeconds: Int64 { components.seconds }
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
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
        // GCancellable is thread-safe; `release` returns only once `expire` is done with it.
        let pointer = UInt(bitPattern: cancellable)
        let watch = PolkitWatchdog.shared.watch(for: timeout) {
            g_cancellable_cancel(UnsafeMutablePointer<GCancellable>(bitPattern: pointer))
        }
        var error: UnsafeMutablePointer<GError>?
        let answer = polkit_authority_check_authorization_sync(
            authority, process, action, polkitDetails, POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE, cancellable, &error
        )
        let expired = PolkitWatchdog.shared.release(watch)
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
