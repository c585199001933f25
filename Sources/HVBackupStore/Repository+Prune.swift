import Foundation

/// What a prune decided and did.
public struct PruneReport: Hashable, Sendable {
    /// One backup and the policy's decision on it.
    public struct Entry: Hashable, Sendable {
        public var id: String
        public var machine: String
        public var time: Date
        /// The rules that keep it; empty when it is removed.
        public var reasons: [RetentionPolicy.Reason]

        public var kept: Bool { !reasons.isEmpty }
    }

    /// Every backup the policy was applied to, by machine (sorted), newest first.
    public var entries: [Entry]
    /// Whether nothing was removed because only the decisions were asked for.
    public var dryRun: Bool
    /// The garbage collection that followed the removals; nil on a dry run.
    public var garbage: GarbageReport?

    public var removed: [Entry] { entries.filter { !$0.kept } }
}

extension Repository {
    /// Applies `policy` to each machine's backups (only `machine`'s when it is given), removes the
    /// backups it does not keep, then collects the chunks nothing uses any more. Backups made
    /// after `now` are left alone: a prune decides on the backups there were when it was asked.
    /// With `dryRun`, only decides. Periods are counted in `timeZone`. `removing` is told, before
    /// each removal, how many of how many backups were removed so far.
    public func prune(
        _ policy: RetentionPolicy, machine: String? = nil, now: Date = Date(), dryRun: Bool = false, timeZone: TimeZone = .current,
        safetyMargin: Duration = defaultSafetyMargin, removing: (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) throws(BackupError) -> PruneReport {
        guard !policy.isEmpty else {
            throw BackupError(
                .invalidArgument, "the retention policy keeps nothing, so a prune would remove every backup",
                fix: "give at least one of keep-last, hourly, daily, weekly, monthly or yearly")
        }
        let manifests = try backups(machine: machine).filter { $0.time <= now }
        var entries: [PruneReport.Entry] = []
        for (machine, backups) in Dictionary(grouping: manifests, by: \.machine).sorted(by: { $0.key < $1.key }) {
            let decisions = policy.apply(to: backups.map { RetentionPolicy.Item(id: $0.id, time: $0.time) }, timeZone: timeZone)
            entries += decisions.map { PruneReport.Entry(id: $0.id, machine: machine, time: $0.time, reasons: $0.reasons) }
        }
        var report = PruneReport(entries: entries, dryRun: dryRun, garbage: nil)
        guard !dryRun else { return report }
        let removed = report.removed
        for (done, entry) in removed.enumerated() {
            removing(done, removed.count)
            do throws(BackupError) {
                try delete(entry.id)
            } catch where error.code == .notFound {
                // Deleted by someone else meanwhile.
            }
        }
        removing(removed.count, removed.count)
        report.garbage = try gc(safetyMargin: safetyMargin)
        return report
    }
}
