import HVProtocol

/// A failure in HVMonitor, with what went wrong and how to fix it.
public struct MonitorError: DiagnosedError, Hashable, Sendable {
    public typealias Code = ErrorCode<MonitorError>

    public var code: Code
    public var reason: String
    public var fix: String?

    public init(_ code: Code, _ reason: String, fix: String? = nil) {
        self.code = code
        self.reason = reason
        self.fix = fix
    }
}
