/// A failure in HVAlerting, with what went wrong and how to fix it.
public struct AlertingError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The rules or channel configuration is malformed; the reason names the field.
        public static let invalidConfiguration = Code("InvalidConfiguration")
        /// A secret file is missing, unreadable or readable by other users.
        public static let insecureSecret = Code("InsecureSecret")
        /// A channel could not deliver a notification.
        public static let deliveryFailed = Code("DeliveryFailed")
        /// A step of a network exchange took longer than its timeout.
        public static let timedOut = Code("TimedOut")
        /// No channel matches a test notification's selection.
        public static let noChannel = Code("NoChannel")
        /// A silence matcher or other request parameter is malformed.
        public static let invalidParameter = Code("InvalidParameter")
        /// The alert store could not be opened, read or written.
        public static let storeFailed = Code("StoreFailed")
    }

    public var code: Code
    public var reason: String
    public var fix: String?

    public init(_ code: Code, _ reason: String, fix: String? = nil) {
        self.code = code
        self.reason = reason
        self.fix = fix
    }

    public var description: String {
        guard let fix else { return reason }
        return "\(reason) (fix: \(fix))"
    }

    public static func invalid(_ path: String, _ reason: String, fix: String? = nil) -> AlertingError {
        AlertingError(.invalidConfiguration, "\(path): \(reason)", fix: fix)
    }
}
