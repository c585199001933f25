import GRDB

/// One collection's raw rows, all at the same minute and time, written many to an `INSERT`: a
/// statement run per `batch` rows instead of one per row, whose cost was more than the row's.
struct RawRows {
    static let batch = 64

    let db: Database
    let minute: Int
    let time: Double
    private var pending: [(id: Int64, value: Double)] = []

    init(_ db: Database, minute: Int, time: Double) {
        self.db = db
        self.minute = minute
        self.time = time
        pending.reserveCapacity(Self.batch)
    }

    mutating func add(series id: Int64, value: Double) throws {
        pending.append((id, value))
        if pending.count == Self.batch { try flush() }
    }

    /// Writes the rows added since the last flush.
    mutating func flush() throws {
        guard !pending.isEmpty else { return }
        let statement = try db.cachedStatement(sql: Self.insert(rows: pending.count))
        var arguments: [(any DatabaseValueConvertible)?] = []
        arguments.reserveCapacity(pending.count * 4)
        for row in pending {
            arguments.append(minute)
            arguments.append(row.id)
            arguments.append(time)
            arguments.append(row.value)
        }
        try statement.execute(arguments: StatementArguments(arguments))
        pending.removeAll(keepingCapacity: true)
    }

    /// A later row for the same series and time replaces an earlier one, as one statement per row did.
    static func insert(rows: Int) -> String {
        "INSERT OR REPLACE INTO raw (minute, series_id, time, value) VALUES "
            + repeatElement("(?, ?, ?, ?)", count: rows).joined(separator: ", ")
    }
}
