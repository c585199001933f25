import Foundation
import HVTestSupport
import Testing

/// The per-user limits on the real broker, as shipped: a user in no group floods both of its
/// sockets while a viewer and an operator keep being served, and the broker's open descriptors stay
/// bounded; and floods the broker's own connections to the system bus with signals while an
/// operator keeps being served, and the broker's memory stays bounded. The broker runs over a
/// libvirt test-driver node of its own.
@Suite(.serialized, .enabled(if: Environment.enabled))
struct CallerLimitsTests {
    /// A user in no group of its own: the kernel counts descriptors in flight per user, so the
    /// flood must not be the stranger other suites send descriptors as.
    static let flooder = "hv-it-flooder"

    /// A broker of its own, with no operations of the matrix, and its process; the flooder exists.
    static func broker(named name: String) throws -> (Stack, MatrixBroker, pid_t) {
        let stack = try Stack.shared.get()
        if try run(["/usr/bin/id", flooder]).status != 0 {
            try run(["/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", flooder])
        }
        let broker = try MatrixBroker(stack: stack, name: name, operations: [])
        let found = try run(["/usr/bin/pgrep", "-f", "hv-broker --socket " + broker.socket])
        guard let pid = pid_t(found.stdout.split(separator: "\n").first ?? "") else {
            _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"])
            throw SetupError("no broker process: \(found)")
        }
        return (stack, broker, pid)
    }

    @Test func oneUsersFloodDeniesNobodyElse() throws {
        let (stack, broker, pid) = try Self.broker(named: "limits")
        defer { _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"]) }
        let served = { (user: String) throws -> Output in
            try run([stack.bin + "/hv", "vm", "list"], as: user, environment: ["HV_SOCKET": broker.socket])
        }
        #expect(try served(Stack.viewerUser).status == 0)
        let baseline = openDescriptorCount(pid)

        // Idle connections: the flooder gets its 16 and no more.
        let held = try HeldConnections(
            socket: broker.socket, count: 100, as: Self.flooder, call: #"{"method":"org.varlink.service.GetInfo"}"#
        )
        defer { held.stop() }
        #expect(held.served == 16, "\(held.report)")
        for user in [Stack.viewerUser, MatrixBroker.ownerOperator] {
            let list = try served(user)
            #expect(list.status == 0, "\(user) while the flooder holds its connections: \(list)")
        }

        // Descriptors, as fast as the flooder can send them.
        let flood = try DescriptorFlood(socket: broker.uploadSocket, as: Self.flooder)
        defer { flood.stop() }
        var most = 0
        for round in 0..<3 {
            for _ in 0..<50 {
                most = max(most, openDescriptorCount(pid))
                Thread.sleep(forTimeInterval: 0.02)
            }
            let list = try served(round == 1 ? MatrixBroker.ownerOperator : Stack.viewerUser)
            #expect(list.status == 0, "served during the descriptor flood: \(list)")
        }
        #expect(most > 0 && most <= baseline + 64, "the broker had \(baseline) descriptors open before the floods, \(most) at most during them")
    }

    /// Any local user may send D-Bus signals to any connection on the system bus, the broker's
    /// polkit connections too, which read only the answers they wait for. The signals are dropped
    /// before each check, and a connection flooded past its limit is replaced: polkit is still
    /// asked, and the broker does not keep what the flood sent.
    @Test func signalsSentToTheBrokersBusConnectionsDenyNobody() throws {
        let (stack, broker, pid) = try Self.broker(named: "bus-flood")
        defer { _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"]) }
        let served = { () throws -> Output in
            try run([stack.bin + "/hv", "vm", "list"], as: MatrixBroker.ownerOperator, environment: ["HV_SOCKET": broker.socket])
        }
        // The first checks open the broker's connection to polkitd.
        for _ in 0..<3 { #expect(try served().status == 0) }
        let names = try busNames(of: pid)
        try #require(!names.isEmpty, "the broker holds no connection to the system bus")
        let before = residentKiB(pid)

        let flood = try BusSignalFlood(names: names, directory: broker.base, as: Self.flooder)
        defer { flood.stop() }
        var calls = 0
        while flood.sent < 200_000, calls < 2_000 {
            let list = try served()
            #expect(list.status == 0, "an operator's call while \(flood.sent) signals were sent: \(list)")
            if list.status != 0 { break }
            calls += 1
        }
        flood.stop()
        #expect(flood.sent >= 200_000, "the flood sent too little to show anything: \(flood.report)")
        for _ in 0..<3 { #expect(try served().status == 0, "served after the flood") }
        let after = residentKiB(pid)
        // Without the drain, the broker kept every signal: 184 MiB more after this flood.
        #expect(after - before < 16 * 1024, "the broker grew from \(before) KiB to \(after) KiB during the flood")
    }
}
