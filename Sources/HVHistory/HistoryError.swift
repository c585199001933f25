import HVProtocol

/// A failure in HVHistory, with what went wrong and how to fix it.
public struct HistoryError: DiagnosedError, Hashable, Sendable {
    public typealias Code = ErrorCode<HistoryError>

    public var code: Code
    public var reason: String
    public var fix: String?

    public init(_ code: Code, _ reason: String, fix: String? = nil) {
        self.code = code
        self.reason = reason
        self.fix = fix
    }
}

extension HistoryError.Code {
    /// The history database could not be opened or migrated.
    public static let openFailed = Self("openFailed")
    /// A read or write on the history database failed.
    public static let databaseFailed = Self("databaseFailed")
    /// A query asked for something impossible, such as a range that ends before it starts.
    public static let invalidQuery = Self("invalidQuery")
}
