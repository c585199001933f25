import GRDB
import HVProtocol

extension HistoryStore {
    /// The resolution a query over `[since, now]` reads: raw when the range lies within the raw
    /// retention, else 5-minute aggregates when within theirs, else hourly aggregates.
    public func resolution(since: Double, now: Double) -> HistoryResolution {
        if since >= now - configuration.rawRetentionSeconds { return .raw }
        if since >= now - configuration.fiveMinuteRetentionSeconds { return .fiveMinutes }
        return .hourly
    }

    /// The target's series over `[since, now]`, oldest point first, at the finest resolution that
    /// covers the range; one series per requested metric (empty when nothing is stored), or every
    /// stored metric of the target when `metrics` is nil.
    ///
    /// A series with more than `maximumPoints` (default: the configuration's) points is
    /// downsampled on read into equal buckets, each with the average, minimum and maximum of the
    /// points in it; `resolutionSeconds` is then the bucket width.
    public func query(
        target: String, metrics: [String]? = nil, since: Double, now: Double, maximumPoints: Int? = nil
    ) throws(HistoryError) -> [MetricSeries] {
        guard since <= now else {
            throw HistoryError(.invalidQuery, "the range starts (\(since)) after it ends (\(now))")
        }
        let limit = max(1, maximumPoints ?? configuration.maximumPointsPerSeries)
        let resolution = resolution(since: since, now: now)
        let width = resolution == .raw ? max(1, configuration.collectionIntervalSeconds) : resolution.rawValue
        let names: [String]
        if let metrics { names = metrics } else { names = try self.metrics(target: target) }
        return try read { db in
            try names.map { metric in
                let points = try Self.points(
                    db, target: target, metric: metric, resolution: resolution, since: since, now: now)
                let series = Downsampling.reduce(points, range: since...now, resolution: width, maximumPoints: limit)
                return MetricSeries(
                    target: target, metric: metric, resolutionSeconds: series.resolution, points: series.points)
            }
        }
    }

    static func points(
        _ db: Database, target: String, metric: String, resolution: HistoryResolution, since: Double, now: Double
    ) throws -> [WeightedPoint] {
        let rows: [Row]
        if resolution == .raw {
            // One look-up of the series in each minute of the range that has rows.
            rows = try Row.fetchAll(
                db,
                sql: """
                    WITH RECURSIVE minutes(m) AS (
                        SELECT max(?, (SELECT min(minute) FROM raw))
                        UNION ALL SELECT m + 1 FROM minutes WHERE m < min(?, (SELECT max(minute) FROM raw)))
                    SELECT time, value AS avg, value AS min, value AS max, 1 AS count FROM raw
                    WHERE minute IN minutes
                      AND series_id = (SELECT id FROM series WHERE target = ? AND metric = ?)
                      AND time >= ? AND time <= ?
                    ORDER BY time
                    """,
                arguments: [minute(of: since), minute(of: now), target, metric, since, now]
            )
        } else {
            rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT bucket AS time, avg, min, max, count FROM rollup
                    JOIN series ON series.id = rollup.series_id
                    WHERE rollup.resolution = ? AND series.target = ? AND series.metric = ?
                      AND bucket + ? > ? AND bucket <= ?
                    ORDER BY bucket
                    """,
                arguments: [resolution.rawValue, target, metric, resolution.rawValue, since, now]
            )
        }
        return rows.map { row in
            WeightedPoint(
                point: MetricPoint(time: row["time"], value: row["avg"], min: row["min"], max: row["max"]),
                count: row["count"]
            )
        }
    }
}

/// A point and how many raw samples it stands for, so averages of averages stay exact.
struct WeightedPoint: Sendable, Hashable {
    var point: MetricPoint
    var count: Int
}

enum Downsampling {
    /// Merges `points` into buckets `resolution`-aligned and wide enough that at most about
    /// `maximumPoints` remain; returns them unchanged when they already fit.
    static func reduce(
        _ points: [WeightedPoint], range: ClosedRange<Double>, resolution: Int, maximumPoints: Int
    ) -> (resolution: Int, points: [MetricPoint]) {
        guard points.count > maximumPoints else { return (resolution, points.map(\.point)) }
        let span = max(range.upperBound - range.lowerBound, 1)
        let perBucket = Int((span / Double(maximumPoints)).rounded(.up))
        let width = max(resolution, Int((Double(perBucket) / Double(resolution)).rounded(.up)) * resolution)
        var result: [MetricPoint] = []
        var current: (bucket: Double, sum: Double, count: Int, min: Double, max: Double)?
        func flush() {
            if let bucket = current {
                result.append(
                    MetricPoint(
                        time: bucket.bucket, value: bucket.sum / Double(bucket.count), min: bucket.min, max: bucket.max)
                )
            }
        }
        for weighted in points {
            let bucket = (weighted.point.time / Double(width)).rounded(.down) * Double(width)
            let weight = max(weighted.count, 1)
            if var open = current, open.bucket == bucket {
                open.sum += weighted.point.value * Double(weight)
                open.count += weight
                open.min = min(open.min, weighted.point.min)
                open.max = max(open.max, weighted.point.max)
                current = open
            } else {
                flush()
                current = (
                    bucket, weighted.point.value * Double(weight), weight, weighted.point.min, weighted.point.max
                )
            }
        }
        flush()
        return (width, result)
    }
}
