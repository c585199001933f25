@testable import HVPolkit
import Synchronization
import Testing

/// The one thread that cancels polkit calls past their deadline: it cancels late calls, leaves
/// answered ones alone, and keeps nothing once a call is released.
@Suite struct PolkitWatchdogTests {
    @Test func aCallPastItsDeadlineIsCancelled() async throws {
        let watchdog = PolkitWatchdog()
        let expired = Atomic<Int>(0)
        let id = watchdog.watch(for: .milliseconds(50)) { expired.add(1, ordering: .relaxed) }
        try await Task.sleep(for: .milliseconds(500))
        #expect(expired.load(ordering: .relaxed) == 1)
        #expect(watchdog.release(id))
        #expect(watchdog.watching == 0)
    }

    @Test func aCallAnsweredInTimeIsLeftAlone() async throws {
        let watchdog = PolkitWatchdog()
        let expired = Atomic<Int>(0)
        let ids = (0..<1_000).map { _ in watchdog.watch(for: .seconds(60)) { expired.add(1, ordering: .relaxed) } }
        #expect(watchdog.watching == 1_000)
        for id in ids { #expect(!watchdog.release(id)) }
        #expect(watchdog.watching == 0, "a released call leaves nothing behind")
        try await Task.sleep(for: .milliseconds(100))
        #expect(expired.load(ordering: .relaxed) == 0)
    }

    @Test func anEarlierDeadlineWakesTheWatchdog() async throws {
        let watchdog = PolkitWatchdog()
        let expired = Atomic<Int>(0)
        let late = watchdog.watch(for: .seconds(60)) {}
        // Give the thread time to go to sleep until the 60 s deadline.
        try await Task.sleep(for: .milliseconds(100))
        let early = watchdog.watch(for: .milliseconds(50)) { expired.add(1, ordering: .relaxed) }
        try await Task.sleep(for: .milliseconds(500))
        #expect(expired.load(ordering: .relaxed) == 1)
        #expect(watchdog.release(early))
        #expect(!watchdog.release(late))
    }
}
