import GRDB
import HVProtocol
import Synchronization

/// Metric history in SQLite (`history.sqlite`, WAL): raw points, 5-minute and hourly aggregates.
///
/// `record` adds one collection's values; `maintain` rolls completed buckets up, applies the
/// retention and the size bound; `query` reads a range at the finest resolution that covers it.
/// All calls block on SQLite; they are safe from any thread.
public final class HistoryStore: Sendable {
    /// The database's file name inside the monitor's state directory.
    public static let fileName = "history.sqlite"

    public let configuration: HistoryConfiguration
    let database: DatabasePool
    /// Each series' id by target and metric, and the minute it was last marked seen in, so a
    /// collection that writes the same series as the last one looks none of them up. Read and
    /// changed only inside write transactions, which SQLite runs one at a time; emptied whenever
    /// series may have been deleted.
    let seriesIDs = Mutex<[SeriesKey: KnownSeries]>([:])

    struct SeriesKey: Hashable {
        var target: String
        var metric: String
    }

    struct KnownSeries {
        var id: Int64
        var seenMinute: Int
    }

    /// Opens (creating and migrating when needed) the history database at `path`.
    public init(path: String, configuration: HistoryConfiguration = .init()) throws(HistoryError) {
        self.configuration = configuration
        var options = Configuration()
        options.prepareDatabase { db in
            // Only takes effect while the file is new; lets the size bound return freed pages.
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL") }
        }
        do {
            database = try DatabasePool(path: path, configuration: options)
            try Self.migrator.migrate(database)
        } catch {
            throw HistoryError(
                .openFailed, "cannot open the history database \(path): \(error)",
                fix: "check that the monitor's state directory exists and is writable by the monitor"
            )
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE series (
                        id INTEGER PRIMARY KEY,
                        target TEXT NOT NULL,
                        metric TEXT NOT NULL,
                        last_seen REAL NOT NULL,
                        UNIQUE (target, metric)
                    );
                    CREATE INDEX series_last_seen ON series (last_seen);
                    CREATE TABLE raw (
                        series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
                        time REAL NOT NULL,
                        value REAL NOT NULL,
                        PRIMARY KEY (series_id, time)
                    ) WITHOUT ROWID;
                    CREATE INDEX raw_time ON raw (time);
                    CREATE TABLE rollup (
                        resolution INTEGER NOT NULL,
                        series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
                        bucket INTEGER NOT NULL,
                        avg REAL NOT NULL,
                        min REAL NOT NULL,
                        max REAL NOT NULL,
                        count INTEGER NOT NULL,
                        PRIMARY KEY (resolution, series_id, bucket)
                    ) WITHOUT ROWID;
                    CREATE INDEX rollup_bucket ON rollup (resolution, bucket);
                    -- Buckets before done_until have been rolled up into this resolution.
                    CREATE TABLE watermark (
                        resolution INTEGER PRIMARY KEY,
                        done_until INTEGER NOT NULL
                    );
                    """
            )
        }
        // Raw rows kept in order of their minute first: one collection's rows land side by side
        // on a few pages instead of at the end of every series' run, one page each (2,000 pages,
        // 8 MB of WAL and as much again at the checkpoint, per collection of 1,000 machines).
        migrator.registerMigration("v2: raw rows by minute") { db in
            try db.execute(
                sql: """
                    CREATE TABLE raw_by_minute (
                        minute INTEGER NOT NULL,
                        series_id INTEGER NOT NULL,
                        time REAL NOT NULL,
                        value REAL NOT NULL,
                        PRIMARY KEY (minute, series_id, time)
                    ) WITHOUT ROWID;
                    INSERT INTO raw_by_minute (minute, series_id, time, value)
                        SELECT CAST(time / 60 AS INTEGER), series_id, time, value FROM raw ORDER BY 1, 2, 3;
                    DROP TABLE raw;
                    ALTER TABLE raw_by_minute RENAME TO raw;
                    """
            )
        }
        return migrator
    }

    /// Stores one collection's values at `time` (seconds since 1970) in one transaction.
    /// Non-finite values are skipped. Returns how many values were stored: fewer than given when
    /// the series limit is reached and every stored series was written in this same minute.
    ///
    /// Series the store already knows are written with one prepared statement each; only new
    /// series are looked up and created one by one. A series' `last_seen` is the time of the
    /// first collection that wrote it in the minute it was last written in, so it is set once a
    /// minute, not at every collection: setting it every time moved every series in its index at
    /// every collection.
    @discardableResult
    public func record(time: Double, values: [HistoryValue]) throws(HistoryError) -> Int {
        do {
            return try write { db in
                let known = seriesIDs.withLock { $0 }
                let minute = Self.minute(of: time)
                let insert = try db.cachedStatement(
                    sql: "INSERT OR REPLACE INTO raw (minute, series_id, time, value) VALUES (?, ?, ?, ?)")
                let markSeen = try db.cachedStatement(sql: Self.markSeen)
                var stored = 0
                var unknown: [HistoryValue] = []
                var changed: [SeriesKey: KnownSeries] = [:]
                for value in values where value.value.isFinite {
                    let key = SeriesKey(target: value.target, metric: value.metric)
                    guard let series = known[key] else {
                        unknown.append(value)
                        continue
                    }
                    try insert.execute(arguments: [minute, series.id, time, value.value])
                    if series.seenMinute < minute {
                        try markSeen.execute(arguments: [time, series.id])
                        changed[key] = KnownSeries(id: series.id, seenMinute: minute)
                    }
                    stored += 1
                }
                // Series stored but not cached (after a start or a maintenance) are found and
                // marked seen before any new series makes room, so room is never made from a
                // series this collection writes.
                var new: [HistoryValue] = []
                for value in unknown {
                    guard let id = try Self.existingSeriesID(db, value, time: time) else {
                        new.append(value)
                        continue
                    }
                    changed[SeriesKey(target: value.target, metric: value.metric)] = KnownSeries(id: id, seenMinute: minute)
                    try insert.execute(arguments: [minute, id, time, value.value])
                    stored += 1
                }
                var evicted = false
                for value in new {
                    let key = SeriesKey(target: value.target, metric: value.metric)
                    // A series given twice was created by its first value.
                    var id = changed[key]?.id
                    if id == nil {
                        id = try Self.createSeries(db, value, time: time, limit: configuration.maximumSeries, evicted: &evicted)
                    }
                    guard let id else { continue }
                    changed[key] = KnownSeries(id: id, seenMinute: minute)
                    try insert.execute(arguments: [minute, id, time, value.value])
                    stored += 1
                }
                seriesIDs.withLock { ids in
                    if evicted { ids = [:] }
                    ids.merge(changed) { _, new in new }
                }
                return stored
            }
        } catch {
            // The transaction was rolled back: ids it created may not exist.
            seriesIDs.withLock { $0 = [:] }
            throw error
        }
    }

    /// Creates a series that is not stored (making room under the limit) and returns its id; nil
    /// when no room can be made. Sets `evicted` when series were deleted to make room.
    static func createSeries(_ db: Database, _ value: HistoryValue, time: Double, limit: Int, evicted: inout Bool) throws -> Int64? {
        while try Int.fetchOne(db, sql: "SELECT count(*) FROM series") ?? 0 >= limit {
            // Make room by dropping the series written longest ago, never one written in this
            // minute (and so none written in this collection): their `last_seen` is in it.
            guard
                let oldest = try Int64.fetchOne(
                    db, sql: "SELECT id FROM series WHERE last_seen < ? ORDER BY last_seen, id LIMIT 1",
                    arguments: [Double(minute(of: time) * 60)]
                )
            else { return nil }
            try deleteRawRows(db, series: oldest)
            try db.execute(sql: "DELETE FROM series WHERE id = ?", arguments: [oldest])
            evicted = true
        }
        try db.execute(
            sql: "INSERT INTO series (target, metric, last_seen) VALUES (?, ?, ?)",
            arguments: [value.target, value.metric, time]
        )
        return db.lastInsertedRowID
    }

    /// The stored series' id, marked seen at `time`; nil when the series is not stored.
    static func existingSeriesID(_ db: Database, _ value: HistoryValue, time: Double) throws -> Int64? {
        guard
            let id = try Int64.fetchOne(
                db, sql: "SELECT id FROM series WHERE target = ? AND metric = ?", arguments: [value.target, value.metric])
        else { return nil }
        try db.cachedStatement(sql: markSeen).execute(arguments: [time, id])
        return id
    }

    /// Marks a series (its id) seen at a time; never moves `last_seen` back.
    static let markSeen = "UPDATE series SET last_seen = max(last_seen, ?) WHERE id = ?"

    /// The minute a raw row at `time` is kept under: rows are ordered by it first.
    static func minute(of time: Double) -> Int {
        Int((time / 60).rounded(.down))
    }

    /// Deletes a series' raw rows: one look-up of the series in each minute that has rows.
    static func deleteRawRows(_ db: Database, series: Int64) throws {
        try db.execute(
            sql: """
                WITH RECURSIVE minutes(m) AS (
                    SELECT min(minute) FROM raw
                    UNION ALL SELECT m + 1 FROM minutes WHERE m < (SELECT max(minute) FROM raw))
                DELETE FROM raw WHERE minute IN minutes AND series_id = ?
                """,
            arguments: [series]
        )
    }

    /// The targets with stored history (`host` and VM names), sorted.
    public func targets() throws(HistoryError) -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT DISTINCT target FROM series ORDER BY target") }
    }

    /// The metrics stored for a target, sorted.
    public func metrics(target: String) throws(HistoryError) -> [String] {
        try read { db in
            try String.fetchAll(
                db, sql: "SELECT metric FROM series WHERE target = ? ORDER BY metric", arguments: [target])
        }
    }

    /// Bytes the database's pages in use take (the size bound's measure; freed pages excluded).
    public func storageBytes() throws(HistoryError) -> Int {
        try read { db in try Self.usedBytes(db) }
    }

    static func usedBytes(_ db: Database) throws -> Int {
        let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
        let free = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
        let size = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0
        return (pages - free) * size
    }

    func write<T>(_ body: (Database) throws -> T) throws(HistoryError) -> T {
        do {
            return try database.write(body)
        } catch {
            throw HistoryError(.databaseFailed, "cannot write the history: \(error)")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws(HistoryError) -> T {
        do {
            return try database.read(body)
        } catch {
            throw HistoryError(.databaseFailed, "cannot read the history: \(error)")
        }
    }
}
