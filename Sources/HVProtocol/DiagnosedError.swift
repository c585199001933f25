/// An error that says what went wrong and, when there is something to do, how to fix it.
///
/// The error types of the observability targets (`HistoryError`, `MetricsError`, `AlertingError`,
/// `MonitorError`) conform; each stays its own type with its own codes. `HVError` keeps its own
/// description, the one the CLI prints.
public protocol DiagnosedError: Error, CustomStringConvertible {
    /// What went wrong.
    var reason: String { get }
    /// How to fix it, if there is something to do.
    var fix: String? { get }
}

extension DiagnosedError {
    /// The reason, followed by the fix in parentheses when there is one.
    public var description: String {
        guard let fix else { return reason }
        return "\(reason) (fix: \(fix))"
    }
}

/// A code naming one kind of failure of the error type `Owner`; `Owner` only keeps the codes of
/// different error types apart.
public struct ErrorCode<Owner>: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}
