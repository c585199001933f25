import HVProtocol
import HVSystem

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

    /// A credential file's refusal, under the code of its kind.
    init(_ error: SecretFileError) {
        let code: Code =
            switch error.code {
            case .unreadable: .credentialsUnreadable
            case .insecure: .credentialsInsecure
            case .invalid: .credentialsInvalid
            }
        self.init(code, error.reason, fix: error.fix)
    }
}

extension MetricsError.Code {
    /// A file under /proc could not be read.
    public static let procUnreadable = Self("procUnreadable")
    /// A file under /proc did not have the expected format.
    public static let procMalformed = Self("procMalformed")
    /// The `/metrics` listener could not be opened.
    public static let listenFailed = Self("listenFailed")
    /// A credential file for `/metrics` (the token, the TLS key) is missing or cannot be read.
    public static let credentialsUnreadable = Self("credentialsUnreadable")
    /// A credential file is not a regular file, has the wrong owner, or is open to others.
    public static let credentialsInsecure = Self("credentialsInsecure")
    /// A token or basic-auth user that cannot serve: too short, empty, with spaces or control characters.
    public static let credentialsInvalid = Self("credentialsInvalid")
    /// The TLS certificate or key cannot be loaded, or they do not belong together.
    public static let tlsUnusable = Self("tlsUnusable")
    /// `/metrics` would answer anyone on an address other machines can reach.
    public static let unauthenticatedExposure = Self("unauthenticatedExposure")
}
