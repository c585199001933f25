import Foundation
@testable import HVBackupStore
import Testing

/// The retention policy decides as restic's `forget` does.
@Suite struct RetentionPolicyTests {
    /// The times of restic's own policy tests (`snapshot_policy_test.go`), in their order: gaps,
    /// two backups a tenth of a second apart, five at the same second, several in one hour.
    static let resticTimes = [
        "2014-09-01 10:20:30", "2014-09-02 10:20:30", "2014-09-05 10:20:30", "2014-09-06 10:20:30", "2014-09-08 10:20:30",
        "2014-09-09 10:20:30", "2014-09-10 10:20:30", "2014-09-11 10:20:30", "2014-09-20 10:20:30", "2014-09-22 10:20:30",
        "2014-08-08 10:20:30", "2014-08-10 10:20:30", "2014-08-12 10:20:30", "2014-08-13 10:20:30", "2014-08-13 10:20:30.1",
        "2014-08-15 10:20:30", "2014-08-18 10:20:30", "2014-08-20 10:20:30", "2014-08-21 10:20:30", "2014-08-22 10:20:30",
        "2014-10-01 10:20:30", "2014-10-02 10:20:30", "2014-10-05 10:20:30", "2014-10-06 10:20:30", "2014-10-08 10:20:30",
        "2014-10-09 10:20:30", "2014-10-10 10:20:30", "2014-10-11 10:20:30", "2014-10-20 10:20:30", "2014-10-22 10:20:30",
        "2014-11-08 10:20:30", "2014-11-10 10:20:30", "2014-11-12 10:20:30", "2014-11-13 10:20:30", "2014-11-13 10:20:30.1",
        "2014-11-15 10:20:30", "2014-11-18 10:20:30", "2014-11-20 10:20:30", "2014-11-21 10:20:30", "2014-11-22 10:20:30",
        "2015-09-01 10:20:30", "2015-09-02 10:20:30", "2015-09-05 10:20:30", "2015-09-06 10:20:30", "2015-09-08 10:20:30",
        "2015-09-09 10:20:30", "2015-09-10 10:20:30", "2015-09-11 10:20:30", "2015-09-20 10:20:30", "2015-09-22 10:20:30",
        "2015-08-08 10:20:30", "2015-08-10 10:20:30", "2015-08-12 10:20:30", "2015-08-13 10:20:30", "2015-08-13 10:20:30.1",
        "2015-08-15 10:20:30", "2015-08-18 10:20:30", "2015-08-20 10:20:30", "2015-08-21 10:20:30", "2015-08-22 10:20:30",
        "2015-10-01 10:20:30", "2015-10-02 10:20:30", "2015-10-05 10:20:30", "2015-10-06 10:20:30", "2015-10-08 10:20:30",
        "2015-10-09 10:20:30", "2015-10-10 10:20:30", "2015-10-11 10:20:30", "2015-10-20 10:20:30", "2015-10-22 10:20:30",
        "2015-10-22 10:20:30", "2015-10-22 10:20:30", "2015-10-22 10:20:30", "2015-10-22 10:20:30", "2015-11-08 10:20:30",
        "2015-11-10 10:20:30", "2015-11-12 10:20:30", "2015-11-13 10:20:30", "2015-11-13 10:20:30.1", "2015-11-15 10:20:30",
        "2015-11-18 10:20:30", "2015-11-20 10:20:30", "2015-11-21 10:20:30", "2015-11-22 10:20:30", "2016-01-01 01:02:03",
        "2016-01-01 01:03:03", "2016-01-01 07:08:03", "2016-01-03 07:02:03", "2016-01-04 10:23:03", "2016-01-04 11:23:03",
        "2016-01-04 12:23:03", "2016-01-04 12:24:03", "2016-01-04 12:28:03", "2016-01-04 12:30:03", "2016-01-04 16:23:03",
        "2016-01-05 09:02:03", "2016-01-06 08:02:03", "2016-01-07 10:02:03", "2016-01-08 20:02:03", "2016-01-09 21:02:03",
        "2016-01-12 21:02:03", "2016-01-12 21:08:03", "2016-01-18 12:02:03",
    ]

    static func time(_ text: String) -> Date {
        let (whole, fraction) = text.contains(".") ? (String(text.split(separator: ".")[0]), 0.1) : (text, 0)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .gmt
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.date(from: whole)!.addingTimeInterval(fraction)
    }

    static var resticItems: [RetentionPolicy.Item] {
        resticTimes.enumerated().map { RetentionPolicy.Item(id: String(format: "s%03d", $0.offset), time: time($0.element)) }
    }

    /// The times kept, newest first, each with its reasons.
    static func kept(_ policy: RetentionPolicy, _ items: [RetentionPolicy.Item] = resticItems, in zone: TimeZone = .gmt) -> [String] {
        policy.apply(to: items, timeZone: zone).filter(\.keep).map { decision in
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = zone
            formatter.dateFormat = "yyyy-MM-dd HH:mm"
            return formatter.string(from: decision.time) + " " + decision.reasons.map(\.description).joined(separator: ",")
        }
    }

    @Test(arguments: [
        // The newest of each of the last two days and weeks, and six months; restic's golden file 15.
        (
            RetentionPolicy(daily: 2, weekly: 2, monthly: 6),
            [
                "2016-01-18 12:02 daily,weekly,monthly", "2016-01-12 21:08 daily,weekly", "2015-11-22 10:20 monthly",
                "2015-10-22 10:20 monthly", "2015-09-22 10:20 monthly", "2015-08-22 10:20 monthly", "2014-11-22 10:20 monthly",
            ]
        ),
        // Three years have backups: the oldest backup is kept too while yearly has room (golden file 16).
        (
            RetentionPolicy(yearly: 10),
            ["2016-01-18 12:02 yearly", "2015-11-22 10:20 yearly", "2014-11-22 10:20 yearly", "2014-08-08 10:20 oldest yearly"]
        ),
        (RetentionPolicy(last: 3), ["2016-01-18 12:02 last", "2016-01-12 21:08 last", "2016-01-12 21:02 last"]),
        // 21:02 and 21:08 on the 12th are one hour: the newer is kept.
        (RetentionPolicy(hourly: 3), ["2016-01-18 12:02 hourly", "2016-01-12 21:08 hourly", "2016-01-09 21:02 hourly"]),
        (
            RetentionPolicy(daily: 10),
            [
                "2016-01-18 12:02 daily", "2016-01-12 21:08 daily", "2016-01-09 21:02 daily", "2016-01-08 20:02 daily",
                "2016-01-07 10:02 daily", "2016-01-06 08:02 daily", "2016-01-05 09:02 daily", "2016-01-04 16:23 daily",
                "2016-01-03 07:02 daily", "2016-01-01 07:08 daily",
            ]
        ),
        // A backup kept by two rules is listed once, with both.
        (
            RetentionPolicy(last: 2, monthly: 2),
            ["2016-01-18 12:02 last,monthly", "2016-01-12 21:08 last", "2015-11-22 10:20 monthly"]
        ),
    ])
    func resticExamples(_ policy: RetentionPolicy, _ expected: [String]) {
        #expect(Self.kept(policy) == expected)
    }

    /// Weeks are ISO weeks: 31 December 2015 and 1 January 2016 are both in 2015's week 53.
    @Test func weeksAreISOWeeks() {
        let items = ["2016-01-04 09:00:00", "2016-01-01 09:00:00", "2015-12-31 09:00:00", "2015-12-27 09:00:00"].map {
            RetentionPolicy.Item(id: $0, time: Self.time($0))
        }
        #expect(Self.kept(RetentionPolicy(weekly: 2), items) == ["2016-01-04 09:00 weekly", "2016-01-01 09:00 weekly"])
        #expect(
            Self.kept(RetentionPolicy(weekly: 5), items)
                == ["2016-01-04 09:00 weekly", "2016-01-01 09:00 weekly", "2015-12-27 09:00 weekly"])
    }

    /// Days begin at midnight where the backups are pruned: the same four backups are two
    /// other days two hours east of UTC.
    @Test func periodsFollowTheTimeZone() {
        let items = ["2026-03-01 12:00:00", "2026-03-01 23:30:00", "2026-03-02 00:30:00", "2026-03-02 01:00:00"].map {
            RetentionPolicy.Item(id: $0, time: Self.time($0))
        }
        let policy = RetentionPolicy(daily: 2)
        #expect(policy.apply(to: items, timeZone: .gmt).filter(\.keep).map(\.id) == ["2026-03-02 01:00:00", "2026-03-01 23:30:00"])
        let east = TimeZone(secondsFromGMT: 7200)!
        #expect(policy.apply(to: items, timeZone: east).filter(\.keep).map(\.id) == ["2026-03-02 01:00:00", "2026-03-01 12:00:00"])
    }

    /// Two backups the same day with room for five days: the older is kept as the oldest daily.
    @Test func theOldestIsKeptWhileARuleHasRoom() {
        let items = ["2026-03-01 08:00:00", "2026-03-01 20:00:00"].map { RetentionPolicy.Item(id: $0, time: Self.time($0)) }
        #expect(Self.kept(RetentionPolicy(daily: 5), items) == ["2026-03-01 20:00 daily", "2026-03-01 08:00 oldest daily"])
        #expect(Self.kept(RetentionPolicy(daily: 1), items) == ["2026-03-01 20:00 daily"])
        #expect(RetentionPolicy().isEmpty && RetentionPolicy().apply(to: items, timeZone: .gmt).allSatisfy { !$0.keep })
    }

    /// Identical times are ordered by id, whatever order they come in.
    @Test func tiesAreBrokenById() {
        let time = Self.time("2026-03-01 08:00:00")
        let items = ["b", "c", "a"].map { RetentionPolicy.Item(id: $0, time: time) }
        #expect(RetentionPolicy(last: 1).apply(to: items, timeZone: .gmt).map(\.id) == ["c", "b", "a"])
        #expect(RetentionPolicy(last: 1).apply(to: items.reversed(), timeZone: .gmt).filter(\.keep).map(\.id) == ["c"])
    }
}
