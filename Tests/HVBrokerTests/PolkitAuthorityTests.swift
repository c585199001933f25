import CSystemd
import Foundation
@testable import HVPolkit
import HVServer
import HVTestSupport
import Synchronization
import Testing

/// The broker's polkit client against the host's real polkitd, with polkit's own actions (so the
/// broker's policy need not be installed): a yes and a challenge, an error polkitd reports, one
/// client shared by many threads, and a connection another process floods with signals.
@Suite(.enabled(if: PolkitdCheck.answers, "polkitd does not answer on the system bus (scripts/start-services.sh starts it)"))
struct PolkitAuthorityTests {
    static func ownProcess() throws -> PolkitSubject {
        let pid = getpid()
        guard let start = Peer.startTime(of: pid) else { throw SetupError("no start time for process \(pid)") }
        return PolkitSubject(pid: pid, uid: getuid(), startTime: start)
    }

    /// A process of `nobody`, in no session, for as long as `body` runs.
    static func withNobody<T>(_ body: (PolkitSubject) throws -> T) throws -> T {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "60"]
        try process.run()
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let pid = process.processIdentifier
        // setpriv replaces itself with sleep: wait until the process runs as nobody.
        var start: UInt64?
        for _ in 0..<200 {
            if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                status.contains("\nUid:\t65534\t"), status.contains("Name:\tsleep")
            {
                start = Peer.startTime(of: pid)
                break
            }
            usleep(10_000)
        }
        guard let start else { throw SetupError("the process of nobody did not start") }
        return try body(PolkitSubject(pid: pid, uid: 65534, startTime: start))
    }

    @Test func polkitsAnswersComeBackAsTheyAre() throws {
        let authority = try PolkitAuthority()
        #expect(try authority.check(action: "org.freedesktop.policykit.exec", subject: try Self.ownProcess()) == .authorized)
        try Self.withNobody { (nobody: PolkitSubject) throws in
            // Outside a session, pkexec asks for an administrator's password. (Refusals outright
            // are the broker's rules' answers, which the integration suites' matrix checks.)
            #expect(try authority.check(action: "org.freedesktop.policykit.exec", subject: nobody) == .challenge)
        }
    }

    @Test func anActionPolkitDoesNotKnowIsAnErrorThatSaysSo() throws {
        let authority = try PolkitAuthority()
        let me = try Self.ownProcess()
        #expect {
            _ = try authority.check(action: "org.hypernixos.test.unknown-action", subject: me)
        } throws: { error in
            // The broker's refusal says to install the policy when polkit reports this.
            (error as? PolkitError)?.message.contains("is not registered") == true
        }
        // The error leaves the client usable.
        #expect(try authority.check(action: "org.freedesktop.policykit.exec", subject: me) == .authorized)
    }

    @Test func manyThreadsShareOneClient() throws {
        let authority = try PolkitAuthority()
        let me = try Self.ownProcess()
        try Self.withNobody { (nobody: PolkitSubject) throws in
            let answers = Mutex<[PolkitSubject: [PolkitDecision]]>([:])
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 8) { index in
                let subject = index.isMultiple(of: 2) ? me : nobody
                for _ in 0..<20 {
                    do {
                        let answer = try authority.check(action: "org.freedesktop.policykit.exec", subject: subject)
                        answers.withLock { $0[subject, default: []].append(answer) }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }
            #expect(failures.withLock { $0 } == [])
            // Each thread got its own subject's answer, never another thread's.
            #expect(answers.withLock { $0[me] } == Array(repeating: .authorized, count: 80))
            #expect(answers.withLock { $0[nobody] } == Array(repeating: .challenge, count: 80))
        }
    }

    /// Any local user may send signals to any connection on the system bus. What reaches an idle
    /// connection is dropped before its next check; a connection flooded past the limit is
    /// replaced, and the check is answered all the same.
    @Test func signalsSentToTheClientAreDroppedAndAFloodedConnectionReplaced() throws {
        let authority = try PolkitAuthority(backlogLimit: 100)
        let me = try Self.ownProcess()
        #expect(try authority.check(action: "org.freedesktop.policykit.exec", subject: me) == .authorized)
        let first = try #require(authority.idleNames.first)

        try Self.sendSignals(to: first, count: 50)
        #expect(try authority.check(action: "org.freedesktop.policykit.exec", subject: me) == .authorized)
        #expect(authority.idleNames == [first], "a few unasked messages are read and dropped; the connection stays")

        try Self.sendSignals(to: first, count: 1_000)
        #expect(try authority.check(action: "org.freedesktop.policykit.exec", subject: me) == .authorized)
        let second = try #require(authority.idleNames.first)
        #expect(second != first, "a connection flooded past the limit is closed and a new one answers")
    }

    /// Sends `count` signals from a connection of its own to the bus name `destination`, and waits
    /// until the bus has handled them.
    static func sendSignals(to destination: String, count: Int) throws {
        var bus: OpaquePointer?
        guard sd_bus_open_system(&bus) >= 0, let bus else { throw SetupError("no system bus") }
        defer { sd_bus_flush_close_unref(bus) }
        for _ in 0..<count {
            var message: OpaquePointer?
            guard sd_bus_message_new_signal(bus, &message, "/org/hypernixos/Test", "org.hypernixos.Test", "Noise") >= 0, let message
            else { throw SetupError("could not make a signal") }
            defer { sd_bus_message_unref(message) }
            guard sd_bus_message_set_destination(message, destination) >= 0, sd_bus_send(bus, message, nil) >= 0 else {
                throw SetupError("could not send a signal to \(destination)")
            }
        }
        // The bus answers a call only after what this connection sent before it.
        var call: OpaquePointer?
        var error = sd_bus_error()
        var reply: OpaquePointer?
        defer {
            sd_bus_message_unref(call)
            sd_bus_message_unref(reply)
            sd_bus_error_free(&error)
        }
        guard sd_bus_message_new_method_call(bus, &call, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId") >= 0,
            sd_bus_call(bus, call, 0, &error, &reply) >= 0
        else { throw SetupError("the bus did not answer") }
    }
}

enum PolkitdCheck {
    static let answers: Bool = {
        guard let authority = try? PolkitAuthority(), let me = try? PolkitAuthorityTests.ownProcess() else { return false }
        return (try? authority.check(action: "org.freedesktop.policykit.exec", subject: me)) == .authorized
    }()
}
