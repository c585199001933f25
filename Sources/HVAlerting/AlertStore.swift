import Foundation
import GRDB
import HVProtocol

/// Alert history in its own SQLite file (`alerts.sqlite`): notifications with their deliveries,
/// silences, and the engine's per-key state so a restarted monitor neither forgets a firing alert nor
/// notifies it twice.
public final class AlertStore: Sendable {
    private let database: DatabaseQueue
    /// History older than this is pruned: 90 days unless set.
    public let retentionSeconds: Double

    /// Opens (creating and migrating) the store at `path`; `:memory:` gives a private in-memory store.
    public init(path: String, retentionSeconds: Double = 90 * 86_400) throws {
        do {
            database = path == ":memory:" ? try DatabaseQueue() : try DatabaseQueue(path: path)
            try Self.migrator.migrate(database)
        } catch {
            throw AlertingError(
                .storeFailed, "cannot open alert store \(path): \(error)",
                fix: "check that the monitor's state directory exists and is writable by its user")
        }
        self.retentionSeconds = retentionSeconds
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "notification") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("time", .double).notNull().indexed()
                table.column("key", .text).notNull().indexed()
                table.column("rule", .text).notNull()
                table.column("severity", .text).notNull()
                table.column("kind", .text).notNull()
                table.column("summary", .text).notNull()
                table.column("labels", .text).notNull()
                table.column("deliveries", .text).notNull()
                table.column("held", .text)
            }
            try db.create(table: "silence") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("matcher", .text).notNull()
                table.column("until", .double).notNull().indexed()
                table.column("createdBy", .text).notNull()
                table.column("comment", .text).notNull()
                table.column("createdAt", .double).notNull()
            }
            try db.create(table: "alertState") { table in
                table.primaryKey("key", .text)
                table.column("state", .text).notNull()
            }
        }
        migrator.registerMigration("v2: why a notification resolved") { db in
            try db.alter(table: "notification") { table in table.add(column: "reason", .text) }
        }
        return migrator
    }

    private func run<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as AlertingError {
            throw error
        } catch {
            throw AlertingError(.storeFailed, "alert store: cannot \(what): \(error)")
        }
    }

    // MARK: Notifications

    /// Stores `notification` (its id is ignored) and returns it with its new id. `held` says why it was
    /// not sent, when it was not.
    @discardableResult
    public func record(_ notification: AlertNotification, held: String? = nil) throws -> AlertNotification {
        try run("record a notification") {
            try database.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO notification
                            (time, key, rule, severity, kind, summary, labels, deliveries, held, reason)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        notification.time, notification.key, notification.rule, notification.severity.rawValue,
                        notification.kind, notification.summary, try Self.json(notification.labels),
                        try Self.json(notification.deliveries), held, notification.reason,
                    ])
                var stored = notification
                stored.id = db.lastInsertedRowID
                return stored
            }
        }
    }

    /// Adds one channel's outcome to a stored notification.
    public func addDelivery(_ delivery: AlertDelivery, to id: Int64) throws {
        try run("record a delivery") {
            try database.write { db in
                guard let text = try String.fetchOne(db, sql: "SELECT deliveries FROM notification WHERE id = ?", arguments: [id])
                else { return }
                var deliveries = try JSONDecoder().decode([AlertDelivery].self, from: Data(text.utf8))
                deliveries.removeAll { $0.channel == delivery.channel }
                deliveries.append(delivery)
                try db.execute(
                    sql: "UPDATE notification SET deliveries = ? WHERE id = ?", arguments: [try Self.json(deliveries), id])
            }
        }
    }

    /// The newest notifications first, at most `limit`, optionally only since a time or for one key.
    public func notifications(since: Double? = nil, key: String? = nil, limit: Int = 100) throws -> [AlertNotification] {
        try run("read notifications") {
            try database.read { db in
                var conditions: [String] = []
                var arguments: StatementArguments = []
                if let since {
                    conditions.append("time >= ?")
                    _ = arguments.append(contentsOf: [since])
                }
                if let key {
                    conditions.append("key = ?")
                    _ = arguments.append(contentsOf: [key])
                }
                _ = arguments.append(contentsOf: [max(0, limit)])
                let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
                let rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM notification \(filter) ORDER BY time DESC, id DESC LIMIT ?", arguments: arguments)
                return try rows.map { row in
                    let labels: String = row["labels"]
                    let deliveries: String = row["deliveries"]
                    let severity: String = row["severity"]
                    return AlertNotification(
                        id: row["id"], time: row["time"], key: row["key"], rule: row["rule"],
                        severity: AlertSeverity(rawValue: severity) ?? .info, kind: row["kind"], summary: row["summary"],
                        labels: try JSONDecoder().decode([String: String].self, from: Data(labels.utf8)),
                        deliveries: try JSONDecoder().decode([AlertDelivery].self, from: Data(deliveries.utf8)),
                        reason: row["reason"])
                }
            }
        }
    }

    // MARK: Silences

    /// Adds a silence after checking its matcher; `until` must be in the future.
    public func addSilence(matcher: String, until: Double, createdBy: String, comment: String, now: Double) throws
        -> AlertSilence
    {
        _ = try SilenceMatcher(parsing: matcher)
        guard until > now else {
            throw AlertingError(.invalidParameter, "a silence must end in the future", fix: "give an end time after now")
        }
        guard comment.count <= 1_000, createdBy.count <= 256 else {
            throw AlertingError(.invalidParameter, "silence comment or creator is too long")
        }
        return try run("add a silence") {
            try database.write { db in
                try db.execute(
                    sql: "INSERT INTO silence (matcher, until, createdBy, comment, createdAt) VALUES (?, ?, ?, ?, ?)",
                    arguments: [matcher, until, createdBy, comment, now])
                return AlertSilence(
                    id: db.lastInsertedRowID, matcher: matcher, until: until, createdBy: createdBy, comment: comment)
            }
        }
    }

    /// Silences that have not ended at `now`, soonest end first.
    public func activeSilences(now: Double) throws -> [AlertSilence] {
        try run("read silences") {
            try database.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM silence WHERE until > ? ORDER BY until, id", arguments: [now]).map {
                    AlertSilence(
                        id: $0["id"], matcher: $0["matcher"], until: $0["until"], createdBy: $0["createdBy"],
                        comment: $0["comment"])
                }
            }
        }
    }

    /// Ends a silence now. Throws `invalidParameter` when no active silence has that id.
    public func expireSilence(id: Int64, now: Double) throws {
        let changed = try run("expire a silence") {
            try database.write { db in
                try db.execute(sql: "UPDATE silence SET until = ? WHERE id = ? AND until > ?", arguments: [now, id, now])
                return db.changesCount
            }
        }
        guard changed == 1 else {
            throw AlertingError(.invalidParameter, "no active silence with id \(id)", fix: "run 'hv alerts silences' to list them")
        }
    }

    // MARK: Engine state

    public func loadStates() throws -> [AlertState] {
        try run("read alert state") {
            try database.read { db in
                try String.fetchAll(db, sql: "SELECT state FROM alertState ORDER BY key").map {
                    try JSONDecoder().decode(AlertState.self, from: Data($0.utf8))
                }
            }
        }
    }

    /// Replaces the stored engine state with `states`.
    public func saveStates(_ states: [AlertState]) throws {
        try run("save alert state") {
            try database.write { db in
                try db.execute(sql: "DELETE FROM alertState")
                for state in states {
                    try db.execute(
                        sql: "INSERT INTO alertState (key, state) VALUES (?, ?)", arguments: [state.key, try Self.json(state)])
                }
            }
        }
    }

    // MARK: Retention

    /// Deletes notifications, and silences that ended, older than the retention. Returns how many rows went.
    @discardableResult
    public func prune(now: Double) throws -> Int {
        let cutoff = now - retentionSeconds
        return try run("prune history") {
            try database.write { db in
                try db.execute(sql: "DELETE FROM notification WHERE time < ?", arguments: [cutoff])
                var removed = db.changesCount
                try db.execute(sql: "DELETE FROM silence WHERE until < ?", arguments: [cutoff])
                removed += db.changesCount
                return removed
            }
        }
    }

    private static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
