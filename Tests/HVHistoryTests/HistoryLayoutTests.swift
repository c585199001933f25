import Foundation
import GRDB
@testable import HVHistory
import HVProtocol
import Testing

/// How raw rows lie in the database file: what one collection costs the disk, and a history
/// written before rows were kept by minute.
@Suite struct HistoryLayoutTests {
    /// A directory for one database, removed afterwards.
    func withDirectory(_ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(directory.appendingPathComponent(HistoryStore.fileName).path)
    }

    /// After three hours of collections of 1,000 series, one more collection costs the
    /// write-ahead log a few dozen pages. Rows kept by series first cost a page per series (each
    /// series' run of rows fills pages of its own by then), about 1,000.
    @Test func aCollectionWritesAFewPagesNotOnePerSeries() throws {
        try withDirectory { path in
            let store = try HistoryStore(path: path, configuration: .init(collectionIntervalSeconds: 15))
            let values = (0..<1000).map { HistoryValue(target: "vm\($0 / 2)", metric: $0 % 2 == 0 ? "up" : "cpu", value: 1) }
            let cycles = 720
            for cycle in 0..<cycles { try store.record(time: epoch + Double(cycle) * 15, values: values) }
            let pageSize = try store.database.read { try Int.fetchOne($0, sql: "PRAGMA page_size") } ?? 4096
            try store.database.writeWithoutTransaction { try $0.checkpoint(.truncate) }
            try store.record(time: epoch + Double(cycles) * 15, values: values)
            let walBytes = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
            // A WAL file is a 32-byte header, then a 24-byte header and the page for each frame.
            let frames = max(0, walBytes - 32) / (pageSize + 24)
            #expect(frames > 0, "the collection was not written to the WAL")
            #expect(frames < 100, "one collection of 1,000 series wrote \(frames) pages")
            let points = try store.query(target: "vm7", metrics: ["cpu"], since: epoch, now: epoch + 3 * 3600, maximumPoints: 1000)
            #expect(points[0].points.count == cycles + 1)
        }
    }

    /// `last_seen` is set by the first collection of each minute that writes the series, not by
    /// every collection: setting it moves the series in its index.
    @Test func aSeriesIsMarkedSeenOnceAMinute() throws {
        try withDirectory { path in
            let store = try HistoryStore(path: path, configuration: .init(collectionIntervalSeconds: 15))
            let lastSeen = { try store.database.read { try Double.fetchOne($0, sql: "SELECT last_seen FROM series") } }
            let value = HistoryValue(target: "web1", metric: "up", value: 1)
            for second in [0.0, 15, 30, 45] { try store.record(time: epoch + second, values: [value]) }
            #expect(try lastSeen() == epoch)
            try store.record(time: epoch + 60, values: [value])
            try store.record(time: epoch + 75, values: [value])
            #expect(try lastSeen() == epoch + 60)
            // A store that has not cached the series yet looks it up and marks it seen.
            let reopened = try HistoryStore(path: path, configuration: .init(collectionIntervalSeconds: 15))
            try reopened.record(time: epoch + 90, values: [value])
            #expect(try lastSeen() == epoch + 90)
            #expect(try store.query(target: "web1", since: epoch, now: epoch + 120)[0].points.count == 7)
        }
    }

    /// Maintenance forgets a series once its last raw row has expired, not before, though its
    /// `last_seen` may be older than the rows it still has.
    @Test func maintenanceForgetsASeriesOnlyWithItsLastRawRow() throws {
        try withDirectory { path in
            let configuration = HistoryConfiguration(
                collectionIntervalSeconds: 15, rawRetentionSeconds: 3600, fiveMinuteRetentionSeconds: 60,
                hourlyRetentionSeconds: 60)
            let store = try HistoryStore(path: path, configuration: configuration)
            let gone = HistoryValue(target: "gone", metric: "up", value: 1)
            for second in [0.0, 15, 30, 45] { try store.record(time: epoch + second, values: [gone]) }
            try store.record(time: epoch + 3600, values: [.init(target: "host", metric: "load1", value: 1)])
            // Rows before epoch + 30 expire; the series' last two rows, after its last_seen, stay.
            try store.maintain(now: epoch + 3630)
            #expect(try store.targets() == ["gone", "host"])
            #expect(try store.query(target: "gone", since: epoch, now: epoch + 60)[0].points.map(\.time) == [epoch + 30, epoch + 45])
            try store.maintain(now: epoch + 3660)
            #expect(try store.targets() == ["host"])
        }
    }

    /// A history written by the first layout (rows by series, then time) is moved to the
    /// minute-first layout when opened, and reads the same.
    @Test func aHistoryInTheFirstLayoutIsReadAfterTheUpgrade() throws {
        try withDirectory { path in
            let queue = try DatabaseQueue(path: path)
            try queue.write { db in
                try db.execute(
                    sql: """
                        CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                        INSERT INTO grdb_migrations VALUES ('v1');
                        CREATE TABLE series (
                            id INTEGER PRIMARY KEY, target TEXT NOT NULL, metric TEXT NOT NULL,
                            last_seen REAL NOT NULL, UNIQUE (target, metric));
                        CREATE INDEX series_last_seen ON series (last_seen);
                        CREATE TABLE raw (
                            series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
                            time REAL NOT NULL, value REAL NOT NULL, PRIMARY KEY (series_id, time)) WITHOUT ROWID;
                        CREATE INDEX raw_time ON raw (time);
                        CREATE TABLE rollup (
                            resolution INTEGER NOT NULL,
                            series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
                            bucket INTEGER NOT NULL, avg REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,
                            count INTEGER NOT NULL, PRIMARY KEY (resolution, series_id, bucket)) WITHOUT ROWID;
                        CREATE INDEX rollup_bucket ON rollup (resolution, bucket);
                        CREATE TABLE watermark (resolution INTEGER PRIMARY KEY, done_until INTEGER NOT NULL);
                        INSERT INTO series VALUES (1, 'host', 'load1', ?);
                        """,
                    arguments: [epoch + 180]
                )
                for minute in 0...3 {
                    try db.execute(
                        sql: "INSERT INTO raw VALUES (1, ?, ?)", arguments: [epoch + Double(minute) * 60, Double(minute)])
                }
            }
            try queue.close()
            let store = try HistoryStore(path: path, configuration: .init(collectionIntervalSeconds: 60))
            let series = try store.query(target: "host", since: epoch, now: epoch + 600)
            #expect(series.map(\.metric) == ["load1"])
            #expect(series.first?.points.map(\.value) == [0, 1, 2, 3])
            try store.record(time: epoch + 240, values: [.init(target: "host", metric: "load1", value: 4)])
            #expect(try store.query(target: "host", since: epoch, now: epoch + 600).first?.points.map(\.value) == [0, 1, 2, 3, 4])
        }
    }
}
