import Foundation
import HVHistory
import HVProtocol
import Testing

/// A history store in a fresh temporary directory, removed afterwards.
func withStore(
    _ configuration: HistoryConfiguration = .init(collectionIntervalSeconds: 60),
    _ body: (HistoryStore) throws -> Void
) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try body(
        try HistoryStore(
            path: directory.appendingPathComponent(HistoryStore.fileName).path, configuration: configuration))
}

/// A fixed, 5-minute-aligned and hour-aligned starting time.
let epoch: Double = 1_700_000_000 - 1_700_000_000.truncatingRemainder(dividingBy: 3600)

@Suite struct HistoryStoreTests {
    @Test func recordsAndReadsRawPoints() throws {
        try withStore { store in
            try store.record(time: epoch, values: [.init(target: "host", metric: "load1", value: 0.5)])
            try store.record(
                time: epoch + 60,
                values: [
                    .init(target: "host", metric: "load1", value: 1.5), .init(target: "web1", metric: "up", value: 1),
                    .init(target: "host", metric: "bad", value: .nan),
                ])
            #expect(try store.targets() == ["host", "web1"])
            #expect(try store.metrics(target: "host") == ["load1"])
            let series = try store.query(target: "host", since: epoch - 60, now: epoch + 120)
            #expect(
                series == [
                    MetricSeries(
                        target: "host", metric: "load1", resolutionSeconds: 60,
                        points: [
                            MetricPoint(time: epoch, value: 0.5, min: 0.5, max: 0.5),
                            MetricPoint(time: epoch + 60, value: 1.5, min: 1.5, max: 1.5),
                        ])
                ])
            // A requested metric with nothing stored comes back empty rather than missing.
            let missing = try store.query(
                target: "host", metrics: ["load1", "cpu_usage_ratio"], since: epoch, now: epoch + 60)
            #expect(missing.map(\.metric) == ["load1", "cpu_usage_ratio"])
            #expect(missing[1].points.isEmpty)
        }
    }

    @Test func fiveMinuteAndHourlyAggregates() throws {
        try withStore { store in
            // Two hours of one point a minute; the value is the minute's index.
            for minute in 0..<120 {
                try store.record(
                    time: epoch + Double(minute) * 60,
                    values: [.init(target: "host", metric: "load1", value: Double(minute))])
            }
            let report = try store.maintain(now: epoch + 7200)
            #expect(report.fiveMinuteBuckets == 24)
            #expect(report.hourlyBuckets == 2)
            // Read back at 5-minute resolution: a range longer than the raw retention.
            let configuration = store.configuration
            let now = epoch + configuration.rawRetentionSeconds + 3600
            let fiveMinutes = try store.query(target: "host", metrics: ["load1"], since: epoch, now: now)[0]
            #expect(fiveMinutes.resolutionSeconds == 300)
            #expect(fiveMinutes.points.count == 24)
            // Minutes 0…4: average 2, minimum 0, maximum 4; minutes 5…9 start the next bucket.
            #expect(fiveMinutes.points[0] == MetricPoint(time: epoch, value: 2, min: 0, max: 4))
            #expect(fiveMinutes.points[1] == MetricPoint(time: epoch + 300, value: 7, min: 5, max: 9))
            let hourly = try store.query(
                target: "host", metrics: ["load1"], since: epoch,
                now: epoch + configuration.fiveMinuteRetentionSeconds + 3600
            )[0]
            #expect(hourly.resolutionSeconds == 3600)
            #expect(
                hourly.points == [
                    MetricPoint(time: epoch, value: 29.5, min: 0, max: 59),
                    MetricPoint(time: epoch + 3600, value: 89.5, min: 60, max: 119),
                ])
        }
    }

    @Test func onlyCompletedBucketsAreRolledUpAndNeverTwice() throws {
        try withStore { store in
            for second in stride(from: 0.0, to: 600, by: 60) {
                try store.record(time: epoch + second, values: [.init(target: "host", metric: "load1", value: 1)])
            }
            // At 7:30 only the first bucket (0:00–5:00) is complete.
            #expect(try store.maintain(now: epoch + 450).fiveMinuteBuckets == 1)
            #expect(try store.maintain(now: epoch + 450).fiveMinuteBuckets == 0)
            // A point exactly on the boundary belongs to the next bucket.
            try store.record(time: epoch + 600, values: [.init(target: "host", metric: "load1", value: 100)])
            #expect(try store.maintain(now: epoch + 600).fiveMinuteBuckets == 1)
            #expect(try store.maintain(now: epoch + 600).fiveMinuteBuckets == 0)
            let points = try store.query(target: "host", metrics: ["load1"], since: epoch, now: epoch + 3 * 86400)[0]
                .points
            #expect(
                points == [
                    MetricPoint(time: epoch, value: 1, min: 1, max: 1),
                    MetricPoint(time: epoch + 300, value: 1, min: 1, max: 1),
                ])
        }
    }

    @Test func gapsLeaveNoBuckets() throws {
        try withStore { store in
            try store.record(time: epoch + 10, values: [.init(target: "host", metric: "load1", value: 2)])
            try store.record(time: epoch + 3000, values: [.init(target: "host", metric: "load1", value: 4)])
            // One maintain after a long pause covers everything in between.
            #expect(try store.maintain(now: epoch + 7200).fiveMinuteBuckets == 2)
            let points = try store.query(target: "host", metrics: ["load1"], since: epoch, now: epoch + 3 * 86400)[0]
                .points
            #expect(points.map(\.time) == [epoch, epoch + 3000])
        }
    }

    @Test func expiredRowsAndSeriesAreDeleted() throws {
        let configuration = HistoryConfiguration(
            collectionIntervalSeconds: 60, rawRetentionSeconds: 3600, fiveMinuteRetentionSeconds: 7200,
            hourlyRetentionSeconds: 4 * 3600
        )
        try withStore(configuration) { store in
            try store.record(
                time: epoch,
                values: [
                    .init(target: "gone", metric: "up", value: 1), .init(target: "host", metric: "load1", value: 1),
                ])
            try store.maintain(now: epoch + 600)
            for hour in 1...5 {
                let time = epoch + Double(hour) * 3600
                try store.record(time: time, values: [.init(target: "host", metric: "load1", value: Double(hour))])
                try store.maintain(now: time + 1)
            }
            // The VM that disappeared at the start has aged out of every resolution.
            #expect(try store.targets() == ["host"])
            let now = epoch + 5 * 3600 + 1
            let raw = try store.query(target: "host", metrics: ["load1"], since: now - 3600, now: now)[0]
            #expect(raw.points.map(\.value) == [5])
            let hourly = try store.query(target: "host", metrics: ["load1"], since: now - 5 * 3600, now: now)[0]
            #expect(hourly.resolutionSeconds == 3600)
            #expect(hourly.points.map(\.time) == [epoch + 2 * 3600, epoch + 3 * 3600, epoch + 4 * 3600])
        }
    }

    @Test func resolutionChoice() throws {
        try withStore { store in
            let now = epoch
            #expect(store.resolution(since: now - 3600, now: now) == .raw)
            #expect(store.resolution(since: now - 48 * 3600, now: now) == .raw)
            #expect(store.resolution(since: now - 48 * 3600 - 1, now: now) == .fiveMinutes)
            #expect(store.resolution(since: now - 30 * 86400, now: now) == .fiveMinutes)
            #expect(store.resolution(since: now - 90 * 86400, now: now) == .hourly)
            let error = #expect(throws: HistoryError.self) { try store.query(target: "host", since: now, now: now - 1) }
            #expect(error?.code == .invalidQuery)
        }
    }

    @Test func longRangesAreDownsampledOnRead() throws {
        try withStore { store in
            for minute in 0..<100 {
                try store.record(
                    time: epoch + Double(minute) * 60,
                    values: [.init(target: "host", metric: "load1", value: Double(minute))])
            }
            let series = try store.query(
                target: "host", metrics: ["load1"], since: epoch, now: epoch + 6000, maximumPoints: 10)[0]
            #expect(series.resolutionSeconds == 600)
            #expect(series.points.count == 10)
            #expect(series.points[0] == MetricPoint(time: epoch, value: 4.5, min: 0, max: 9))
            #expect(series.points[9] == MetricPoint(time: epoch + 5400, value: 94.5, min: 90, max: 99))
        }
    }

    @Test func seriesLimitReplacesTheLongestUnseen() throws {
        try withStore(.init(collectionIntervalSeconds: 60, maximumSeries: 2)) { store in
            try store.record(time: epoch, values: [.init(target: "old", metric: "up", value: 1)])
            try store.record(time: epoch + 60, values: [.init(target: "host", metric: "load1", value: 1)])
            #expect(try store.record(time: epoch + 120, values: [.init(target: "new", metric: "up", value: 1)]) == 1)
            #expect(try store.targets() == ["host", "new"])
            // Every stored series was written in this collection: no room, the extra value is dropped.
            let stored = try store.record(
                time: epoch + 180,
                values: [
                    .init(target: "host", metric: "load1", value: 1), .init(target: "new", metric: "up", value: 1),
                    .init(target: "third", metric: "up", value: 1),
                ])
            #expect(stored == 2)
            #expect(try store.targets() == ["host", "new"])
        }
    }

    /// A series written earlier in the same minute is not replaced either: its `last_seen` lies in
    /// the minute. In the next minute it is the one written longest ago.
    @Test func seriesLimitKeepsWhatThisMinuteWrote() throws {
        try withStore(.init(collectionIntervalSeconds: 15, maximumSeries: 2)) { store in
            try store.record(time: epoch, values: [.init(target: "first", metric: "up", value: 1)])
            try store.record(time: epoch + 15, values: [.init(target: "second", metric: "up", value: 1)])
            #expect(try store.record(time: epoch + 30, values: [.init(target: "third", metric: "up", value: 1)]) == 0)
            #expect(try store.targets() == ["first", "second"])
            #expect(try store.record(time: epoch + 60, values: [.init(target: "third", metric: "up", value: 1)]) == 1)
            #expect(try store.targets() == ["second", "third"])
        }
    }

    /// A store that has not cached its series yet (a new start) finds the stored ones this
    /// collection writes before it makes room for a new one, whatever their order: room is made
    /// from a series not written, not from one written later in the same collection.
    @Test func roomIsNotMadeFromASeriesThisCollectionWrites() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent(HistoryStore.fileName).path
        let configuration = HistoryConfiguration(collectionIntervalSeconds: 15, maximumSeries: 2)
        let kept = HistoryValue(target: "kept", metric: "up", value: 1)
        do {
            let store = try HistoryStore(path: path, configuration: configuration)
            try store.record(time: epoch, values: [kept])
            try store.record(time: epoch + 15, values: [.init(target: "stale", metric: "up", value: 1)])
        }
        let restarted = try HistoryStore(path: path, configuration: configuration)
        #expect(try restarted.record(time: epoch + 60, values: [.init(target: "new", metric: "up", value: 1), kept]) == 2)
        #expect(try restarted.targets() == ["kept", "new"])
        let points = try restarted.query(target: "kept", metrics: ["up"], since: epoch, now: epoch + 120)[0].points
        #expect(points.map(\.time) == [epoch, epoch + 60], "the series written in this collection kept its history")
    }

    /// Rows go to the database many to a statement: every value of a collection larger than one
    /// statement's rows is stored, and a series given twice keeps the later value, as before.
    @Test func aLargeCollectionIsStoredWhole() throws {
        try withStore { store in
            let values = (0..<150).map { HistoryValue(target: "vm\($0)", metric: "up", value: Double($0)) }
            try store.record(time: epoch, values: values)
            #expect(try store.record(time: epoch + 60, values: values + [.init(target: "vm3", metric: "up", value: -1)]) == 151)
            #expect(try store.targets().count == 150)
            for index in [0, 63, 64, 127, 128, 149] {
                let points = try store.query(target: "vm\(index)", since: epoch, now: epoch + 120)[0].points
                #expect(points.map(\.value) == [Double(index), Double(index)])
            }
            #expect(try store.query(target: "vm3", since: epoch, now: epoch + 120)[0].points.map(\.value) == [3, -1])
        }
    }

    /// A series deleted to make room, then written again, is created anew: the id it had is gone.
    @Test func aSeriesReplacedUnderTheLimitComesBack() throws {
        try withStore(.init(collectionIntervalSeconds: 60, maximumSeries: 2)) { store in
            let old = HistoryValue(target: "old", metric: "up", value: 1)
            let host = HistoryValue(target: "host", metric: "load1", value: 1)
            try store.record(time: epoch, values: [old])
            try store.record(time: epoch + 60, values: [old, host])
            try store.record(time: epoch + 120, values: [host, .init(target: "new", metric: "up", value: 1)])
            #expect(try store.targets() == ["host", "new"])
            #expect(try store.record(time: epoch + 180, values: [host, old]) == 2)
            #expect(try store.targets() == ["host", "old"])
            let points = try store.query(target: "old", metrics: ["up"], since: epoch, now: epoch + 200)[0].points
            #expect(points.map(\.time) == [epoch + 180], "the deleted series' points went with it")
        }
    }

    /// A series maintenance removed is created anew when its target comes back.
    @Test func aSeriesRemovedByMaintenanceComesBack() throws {
        let configuration = HistoryConfiguration(
            collectionIntervalSeconds: 60, rawRetentionSeconds: 3600, fiveMinuteRetentionSeconds: 86_400,
            hourlyRetentionSeconds: 86_400
        )
        try withStore(configuration) { store in
            let vm = HistoryValue(target: "web1", metric: "up", value: 1)
            try store.record(time: epoch, values: [vm])
            try store.record(time: epoch + 60, values: [vm])
            // Past every retention: the rows, then the series, are gone.
            try store.maintain(now: epoch + 3 * 86_400)
            #expect(try store.targets().isEmpty)
            #expect(try store.record(time: epoch + 3 * 86_400, values: [vm]) == 1)
            #expect(try store.targets() == ["web1"])
        }
    }

    @Test func sizeBoundDropsTheOldestDataFirst() throws {
        let limit = 256 * 1024
        try withStore(.init(collectionIntervalSeconds: 60, maximumBytes: limit)) { store in
            let metrics = (0..<20).map { HistoryValue(target: "host", metric: "metric\($0)", value: 0) }
            for minute in 0..<600 {
                let values = metrics.map { HistoryValue(target: $0.target, metric: $0.metric, value: Double(minute)) }
                try store.record(time: epoch + Double(minute) * 60, values: values)
            }
            #expect(try store.storageBytes() > limit)
            let report = try store.maintain(now: epoch + 36000)
            #expect(report.droppedForSize > 0)
            #expect(try store.storageBytes() <= limit)
            let points = try store.query(
                target: "host", metrics: ["metric0"], since: epoch, now: epoch + 36000, maximumPoints: 1000)[0].points
            // The newest data is kept, the oldest went first.
            #expect(points.last?.value == 599)
            #expect((points.first?.time ?? 0) > epoch)
        }
    }

    @Test func reopeningKeepsTheData() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent(HistoryStore.fileName).path
        try HistoryStore(path: path).record(time: epoch, values: [.init(target: "host", metric: "load1", value: 3)])
        let reopened = try HistoryStore(path: path)
        #expect(try reopened.query(target: "host", since: epoch - 1, now: epoch + 1)[0].points.map(\.value) == [3])
        let error = #expect(throws: HistoryError.self) { try HistoryStore(path: "/nonexistent/dir/history.sqlite") }
        #expect(error?.code == .openFailed)
    }
}
