import HVServer
import HVTestSupport
import Testing

/// The per-user accounting on its own: connections per uid within the server's total, calls per
/// uid that wait their turn, root exempt.
@Suite struct UserLimitsTests {
    let limits = UserLimits(maximumClients: 4, maximumClientsPerUser: 2, maximumCallsPerUser: 2, exemptUsers: [0])

    @Test func connectionsAreLimitedPerUserWithinTheTotal() {
        #expect(limits.connect(1000) == nil)
        #expect(limits.connect(1000) == nil)
        #expect(limits.connect(1000) == .user(limit: 2))
        #expect(limits.connect(1001) == nil, "another user keeps its share")
        #expect(limits.connect(0) == nil)
        #expect(limits.connections == 4)
        #expect(limits.connect(0) == .server(limit: 4), "an exempt user is still held to the total")
        limits.disconnect(1000)
        #expect(limits.connect(1000) == nil, "a closed connection frees its place")
        #expect(limits.connections == 4)
    }

    @Test func exemptUsersAreHeldOnlyToTheTotal() {
        for _ in 0..<4 { #expect(limits.connect(0) == nil) }
        #expect(limits.connect(0) == .server(limit: 4))
    }

    @Test func callsBeyondTheLimitWaitForAPlace() async {
        #expect(await limits.startCall(7))
        #expect(await limits.startCall(7))
        let third = Task { await limits.startCall(7) }
        #expect(await eventually(10) { limits.calls(of: 7) == (2, 1) })
        #expect(await limits.startCall(8), "another user's call does not wait")
        limits.finishCall(7)
        #expect(await third.value, "the waiting call takes the place given up")
        #expect(limits.calls(of: 7) == (2, 0))
        limits.finishCall(7)
        limits.finishCall(7)
        limits.finishCall(8)
        #expect(limits.calls(of: 7) == (0, 0))
        #expect(limits.calls(of: 8) == (0, 0))
    }

    @Test func waitersAreServedInOrder() async {
        #expect(await limits.startCall(7))
        #expect(await limits.startCall(7))
        let order = Locked<[Int]>([])
        var waiters: [Task<Void, Never>] = []
        for index in 0..<3 {
            waiters.append(Task {
                if await limits.startCall(7) { order.set(order.get() + [index]) }
            })
            #expect(await eventually(10) { limits.calls(of: 7).waiting == index + 1 })
        }
        for _ in 0..<5 { limits.finishCall(7) }
        for waiter in waiters { await waiter.value }
        #expect(order.get() == [0, 1, 2])
        #expect(limits.calls(of: 7) == (0, 0))
    }

    @Test func aCancelledWaiterTakesNothing() async {
        #expect(await limits.startCall(7))
        #expect(await limits.startCall(7))
        let waiter = Task { await limits.startCall(7) }
        #expect(await eventually(10) { limits.calls(of: 7).waiting == 1 })
        waiter.cancel()
        #expect(await waiter.value == false)
        #expect(limits.calls(of: 7) == (2, 0))
        let alreadyCancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await limits.startCall(7)
        }
        #expect(await alreadyCancelled.value == false)
        limits.finishCall(7)
        limits.finishCall(7)
        #expect(limits.calls(of: 7) == (0, 0))
    }

    @Test func exemptUsersNeverWait() async {
        for _ in 0..<10 { #expect(await limits.startCall(0)) }
        #expect(limits.calls(of: 0) == (10, 0))
    }
}
