import HVProtocol

/// A failure in HVMetrics, with what went wrong and how to fix it.
public struct MetricsError: DiagnosedError, Hashable, Sendable {
    public typealias Code = ErrorCode<MetricsError>

    public var code: Code
    public var reason: String
    public var fix: String?

    public init(_ code: Code, _ reason: String, fix: String? = nil) {
        self.code = code
        self.reason = reason
        self.fix = fix
    }
}

extension MetricsError.Code {
    /// A file under /proc could not be read.
    public static let procUnreadable = Self("procUnreadable")
    /// A file under /proc did not have the expected format.
    public static let procMalformed = Self("procMalformed")
    /// The `/metrics` listener could not be opened.
    public static let listenFailed = Self("listenFailed")
}
