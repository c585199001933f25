import GRDB
import Synchronization

/// What one `maintain` pass did.
public struct MaintenanceReport: Sendable, Hashable {
    /// 5-minute buckets written.
    public var fiveMinuteBuckets: Int
    /// Hourly buckets written.
    public var hourlyBuckets: Int
    /// Rows deleted because they passed their retention.
    public var expiredRows: Int
    /// Rows deleted to stay under the size bound.
    public var droppedForSize: Int
    /// Series removed because none of their data is left.
    public var removedSeries: Int
}

extension HistoryStore {
    /// Rolls completed buckets up (raw → 5 minutes → hourly), deletes rows past their retention and
    /// enforces the size bound, in one transaction.
    ///
    /// Each resolution keeps a watermark: buckets before it are done and never aggregated again, so
    /// running `maintain` twice, or after a long gap, never counts a point twice. A bucket is
    /// complete once `now` has passed its end; buckets without points produce no rows.
    @discardableResult
    public func maintain(now: Double) throws(HistoryError) -> MaintenanceReport {
        let configuration = configuration
        return try write { db in
            // Series may be deleted below; the next record looks them up again.
            seriesIDs.withLock { $0 = [:] }
            var report = MaintenanceReport(
                fiveMinuteBuckets: 0, hourlyBuckets: 0, expiredRows: 0, droppedForSize: 0, removedSeries: 0
            )
            report.fiveMinuteBuckets = try Self.rollUp(db, into: .fiveMinutes, now: now)
            report.hourlyBuckets = try Self.rollUp(db, into: .hourly, now: now)

            try Self.deleteRawRows(db, before: now - configuration.rawRetentionSeconds)
            report.expiredRows += db.changesCount
            for (resolution, retention) in [
                (HistoryResolution.fiveMinutes, configuration.fiveMinuteRetentionSeconds),
                (.hourly, configuration.hourlyRetentionSeconds),
            ] {
                try db.execute(
                    sql: "DELETE FROM rollup WHERE resolution = ? AND bucket < ?",
                    arguments: [resolution.rawValue, now - retention]
                )
                report.expiredRows += db.changesCount
            }
            report.droppedForSize = try Self.enforceSizeBound(db, maximumBytes: configuration.maximumBytes, now: now)
            // A VM gone for longer than every retention leaves no data; forget its series too.
            // Raw rows only ever go oldest first (or with their series), so a series still has
            // raw rows exactly when it was last written in or after the oldest minute with rows
            // left: exactly when its `last_seen`, which lies in the minute it was last written
            // in, is at or after that minute's start.
            try db.execute(
                sql: """
                    DELETE FROM series
                    WHERE last_seen < coalesce((SELECT min(minute) FROM raw) * 60, 9e999)
                      AND NOT EXISTS (
                            SELECT 1 FROM rollup WHERE resolution IN (?, ?) AND rollup.series_id = series.id)
                    """,
                arguments: [HistoryResolution.fiveMinutes.rawValue, HistoryResolution.hourly.rawValue]
            )
            report.removedSeries = db.changesCount
            try db.execute(sql: "PRAGMA incremental_vacuum")
            return report
        }
    }

    /// Aggregates the completed buckets after the resolution's watermark and moves it forward.
    /// Returns the number of buckets written.
    static func rollUp(_ db: Database, into resolution: HistoryResolution, now: Double) throws -> Int {
        let width = resolution.rawValue
        // Times are seconds since 1970, so positive: integer division rounds down.
        let end = Int((now / Double(width)).rounded(.down)) * width
        let start =
            try Int.fetchOne(
                db, sql: "SELECT done_until FROM watermark WHERE resolution = ?", arguments: [resolution.rawValue]
            ) ?? Int.min
        guard end > start else { return 0 }
        switch resolution {
        case .fiveMinutes:
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO rollup (resolution, series_id, bucket, avg, min, max, count)
                    SELECT ?, series_id, CAST(time / ? AS INTEGER) * ? AS b,
                           avg(value), min(value), max(value), count(*)
                    FROM raw WHERE minute >= ? AND minute <= ? AND time >= ? AND time < ?
                    GROUP BY series_id, b
                    """,
                arguments: [
                    width, width, width, start == Int.min ? Int.min : minute(of: Double(start)), minute(of: Double(end)),
                    Double(start), end,
                ]
            )
        case .hourly:
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO rollup (resolution, series_id, bucket, avg, min, max, count)
                    SELECT ?, series_id, (bucket / ?) * ? AS b,
                           sum(avg * count) / sum(count), min(min), max(max), sum(count)
                    FROM rollup WHERE resolution = ? AND bucket >= ? AND bucket < ?
                    GROUP BY series_id, b
                    """,
                arguments: [width, width, width, HistoryResolution.fiveMinutes.rawValue, start, end]
            )
        case .raw:
            return 0
        }
        let written = db.changesCount
        try db.execute(
            sql: "INSERT OR REPLACE INTO watermark (resolution, done_until) VALUES (?, ?)",
            arguments: [resolution.rawValue, end]
        )
        return written
    }

    /// Deletes the raw rows older than `cutoff`: the minutes before it, in order.
    static func deleteRawRows(_ db: Database, before cutoff: Double) throws {
        try db.execute(sql: "DELETE FROM raw WHERE minute <= ? AND time < ?", arguments: [minute(of: cutoff), cutoff])
    }

    /// Drops the oldest data, across all resolutions, until the live pages fit in `maximumBytes`.
    static func enforceSizeBound(_ db: Database, maximumBytes: Int, now: Double) throws -> Int {
        var dropped = 0
        // Each round drops at least an hour and a tenth of the remaining span, so a few rounds suffice.
        for _ in 0..<64 {
            guard try usedBytes(db) > maximumBytes else { break }
            let oldest = try Double.fetchOne(
                db,
                sql: """
                    SELECT min(t) FROM (
                        SELECT min(time) AS t FROM raw WHERE minute = (SELECT min(minute) FROM raw)
                        UNION ALL SELECT min(bucket) FROM rollup)
                    """
            )
            guard let oldest else { break }
            let cutoff = oldest + max(3600, (now - oldest) / 10)
            try deleteRawRows(db, before: cutoff)
            dropped += db.changesCount
            try db.execute(sql: "DELETE FROM rollup WHERE bucket < ?", arguments: [cutoff])
            dropped += db.changesCount
            try db.execute(sql: "PRAGMA incremental_vacuum")
        }
        return dropped
    }
}
