import HVProtocol

/// A failure in HVAlerting, with what went wrong and how to fix it.
public struct AlertingError: DiagnosedError, Hashable, Sendable {
    public typealias Code = ErrorCode<AlertingError>

    public var code: Code
    public var reason: String
    public var fix: String?

    public init(_ code: Code, _ reason: String, fix: String? = nil) {
        self.code = code
        self.reason = reason
        self.fix = fix
    }

    public static func invalid(_ path: String, _ reason: String, fix: String? = nil) -> AlertingError {
        AlertingError(.invalidConfiguration, "\(path): \(reason)", fix: fix)
    }
}

extension AlertingError.Code {
    /// The rules or channel configuration is malformed; the reason names the field.
    public static let invalidConfiguration = Self("InvalidConfiguration")
    /// A secret file is missing, unreadable or readable by other users.
    public static let insecureSecret = Self("InsecureSecret")
    /// A channel could not deliver a notification.
    public static let deliveryFailed = Self("DeliveryFailed")
    /// A step of a network exchange took longer than its timeout.
    public static let timedOut = Self("TimedOut")
    /// No channel matches a test notification's selection.
    public static let noChannel = Self("NoChannel")
    /// A silence matcher or other request parameter is malformed.
    public static let invalidParameter = Self("InvalidParameter")
    /// The alert store could not be opened, read or written.
    public static let storeFailed = Self("StoreFailed")
}
