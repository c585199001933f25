import Foundation

/// Which backups of a machine to keep, as restic's `forget` decides: the newest `last` backups,
/// and for each period rule the newest backup of each of the last N hours, days, ISO weeks,
/// months and years that have a backup. A backup kept by any rule is kept. When a rule still has
/// room after the oldest backup, that oldest backup is kept by it too ("oldest daily"), so the
/// history kept is as long as the policy allows.
public struct RetentionPolicy: Codable, Hashable, Sendable {
    public var last: Int
    public var hourly: Int
    public var daily: Int
    public var weekly: Int
    public var monthly: Int
    public var yearly: Int

    public init(last: Int = 0, hourly: Int = 0, daily: Int = 0, weekly: Int = 0, monthly: Int = 0, yearly: Int = 0) {
        self.last = last
        self.hourly = hourly
        self.daily = daily
        self.weekly = weekly
        self.monthly = monthly
        self.yearly = yearly
    }

    /// A rule of the policy.
    public enum Rule: String, CaseIterable, Codable, Hashable, Sendable {
        case last, hourly, daily, weekly, monthly, yearly
    }

    /// Why a backup is kept: the rule, and whether it kept it as the oldest backup while it had
    /// room left.
    public struct Reason: Codable, Hashable, Sendable, CustomStringConvertible {
        public var rule: Rule
        public var oldest: Bool

        public init(_ rule: Rule, oldest: Bool = false) {
            self.rule = rule
            self.oldest = oldest
        }

        public var description: String { oldest ? "oldest \(rule.rawValue)" : rule.rawValue }
    }

    /// A backup the policy is applied to.
    public struct Item: Hashable, Sendable {
        public var id: String
        public var time: Date

        public init(id: String, time: Date) {
            self.id = id
            self.time = time
        }
    }

    /// What the policy decided for one backup; it is kept when `reasons` is not empty.
    public struct Decision: Hashable, Sendable {
        public var id: String
        public var time: Date
        public var reasons: [Reason]

        public var keep: Bool { !reasons.isEmpty }
    }

    /// The count of each rule, in the order rules are applied.
    public var counts: [(rule: Rule, count: Int)] {
        [(.last, last), (.hourly, hourly), (.daily, daily), (.weekly, weekly), (.monthly, monthly), (.yearly, yearly)]
    }

    /// Whether the policy keeps nothing at all.
    public var isEmpty: Bool { counts.allSatisfy { $0.count <= 0 } }

    /// The decision for each of `items` (backups of one machine), newest first. Periods are
    /// calendar hours, days, ISO weeks, months and years in `timeZone`.
    public func apply(to items: [Item], timeZone: TimeZone) -> [Decision] {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = timeZone
        // Newest first; the id breaks ties, so the order never depends on the input's.
        let sorted = items.sorted { ($0.time, $0.id) > ($1.time, $1.id) }
        var remaining = counts.map(\.count)
        var lastPeriod: [Int?] = Array(repeating: nil, count: remaining.count)
        return sorted.enumerated().map { position, item in
            var reasons: [Reason] = []
            let isOldest = position == sorted.count - 1
            for (ruleIndex, (rule, _)) in counts.enumerated() where remaining[ruleIndex] > 0 {
                let period = Self.period(of: item.time, rule: rule, position: position, calendar: calendar)
                let newPeriod = period != lastPeriod[ruleIndex]
                guard newPeriod || isOldest else { continue }
                reasons.append(Reason(rule, oldest: !newPeriod))
                lastPeriod[ruleIndex] = period
                remaining[ruleIndex] -= 1
            }
            return Decision(id: item.id, time: item.time, reasons: reasons)
        }
    }

    /// A number naming the period of `rule` that `time` falls in; for `last`, every backup is a
    /// period of its own.
    private static func period(of time: Date, rule: Rule, position: Int, calendar: Calendar) -> Int {
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .yearForWeekOfYear, .weekOfYear], from: time)
        let (year, month, day, hour) = (parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0)
        switch rule {
        case .last: return position
        case .hourly: return ((year * 100 + month) * 100 + day) * 100 + hour
        case .daily: return (year * 100 + month) * 100 + day
        case .weekly: return (parts.yearForWeekOfYear ?? 0) * 100 + (parts.weekOfYear ?? 0)
        case .monthly: return year * 100 + month
        case .yearly: return year
        }
    }
}
