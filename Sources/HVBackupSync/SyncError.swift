import HVProtocol

/// Why an off-host copy could not be made, with how to fix it.
public struct SyncError: DiagnosedError, Hashable, Sendable {
    public typealias Code = ErrorCode<SyncError>

    public var code: Code
    public var reason: String
    public var fix: String?
    /// For a target described wrongly: the field, such as `sftp.host`.
    public var field: String?

    public init(_ code: Code, _ reason: String, fix: String? = nil, field: String? = nil) {
        self.code = code
        self.reason = reason
        self.fix = fix
        self.field = field
    }
}

extension SyncError.Code {
    /// A remote is described wrongly in the configuration.
    public static let invalidTarget = Self("InvalidTarget")
    /// The local repository can't be read.
    public static let localUnreadable = Self("LocalUnreadable")
    /// The remote holds a repository other than the one copied there (another chunk size or key).
    public static let otherRepository = Self("OtherRepository")
    /// rclone is missing, could not reach the remote, or failed while copying.
    public static let transferFailed = Self("TransferFailed")
    /// After copying, a file the remote should hold is missing or has the wrong size.
    public static let incomplete = Self("Incomplete")
    /// Another copy to the same remote is running.
    public static let busy = Self("Busy")
}
