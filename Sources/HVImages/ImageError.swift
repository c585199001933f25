import HVProtocol

/// A failure while handling an image file, with what went wrong and how to fix it.
///
/// `hvError` turns it into the broker's wire error, keeping invalid input, missing things, limits
/// and failures apart.
public struct ImageError: DiagnosedError, Hashable, Sendable {
    public typealias Code = ErrorCode<ImageError>

    public var code: Code
    public var reason: String
    public var fix: String?
    /// The request parameter the error is about (`name`, `sha256`, `signature`, …), if any.
    public var parameter: String?
    /// The host-policy setting that refused the image (`iso.max_total`), for `quotaExceeded`.
    public var limit: String?

    public init(_ code: Code, _ reason: String, fix: String? = nil, parameter: String? = nil, limit: String? = nil) {
        self.code = code
        self.reason = reason
        self.fix = fix
        self.parameter = parameter
        self.limit = limit
    }

    /// A refusal by the host policy's totals, as the library passes it on: `quotaExceeded`, with
    /// the setting (`limit`) and the field it names.
    public init(quota refusal: HVError) {
        self.init(.quotaExceeded, refusal.reason, fix: refusal.fix, parameter: refusal.details["field"], limit: refusal.details["limit"])
    }

    /// The error as the broker reports it to clients.
    public var hvError: HVError {
        var details: [String: String] = [:]
        if let limit {
            details = ["limit": limit, "field": parameter ?? ""]
        } else if let parameter {
            details["parameter"] = parameter
        }
        return HVError(Self.wireCodes[code] ?? .failed, reason, fix: fix, details: details)
    }

    private static let wireCodes: [Code: HVError.Code] = [
        .invalidParameter: .invalidParameter,
        .unsafeImage: .invalidParameter,
        .checksumMismatch: .invalidParameter,
        .signatureRejected: .invalidParameter,
        .notFound: .notFound,
        .alreadyExists: .alreadyExists,
        .tooLarge: .quotaExceeded,
        .quotaExceeded: .quotaExceeded,
        .notConfigured: .invalidState,
    ]

    /// Converts an error from HVProtocol's validators (names) into an image error.
    init(_ error: HVError, parameter: String) {
        self.init(.invalidParameter, error.reason, fix: error.fix, parameter: parameter)
    }
}

extension ImageError.Code {
    /// A request parameter is malformed (a name, a checksum, a descriptor that is not a file).
    public static let invalidParameter = Self("InvalidParameter")
    /// An image carries a backing file or external data file, or is not in the format it claims.
    public static let unsafeImage = Self("UnsafeImage")
    /// A file's SHA-256 differs from the expected one.
    public static let checksumMismatch = Self("ChecksumMismatch")
    /// `gpgv` did not accept a detached signature.
    public static let signatureRejected = Self("SignatureRejected")
    /// No library entry (or file) of that name.
    public static let notFound = Self("NotFound")
    /// A library entry of that name already exists.
    public static let alreadyExists = Self("AlreadyExists")
    /// A file or image is larger than the configured limit.
    public static let tooLarge = Self("TooLarge")
    /// Keeping the image would take a total over its limit (the library's, or its group's).
    public static let quotaExceeded = Self("QuotaExceeded")
    /// The broker lacks configuration the request needs (a signing keyring).
    public static let notConfigured = Self("NotConfigured")
    /// A program the broker needs is not installed.
    public static let toolMissing = Self("ToolMissing")
    /// A program failed, could not be started, or ran past its time limit.
    public static let toolFailed = Self("ToolFailed")
    /// A file changed while the broker was reading it.
    public static let fileChanged = Self("FileChanged")
    /// A file system call failed.
    public static let ioFailed = Self("IOFailed")
    /// The caller of a long operation went away, so it stopped; nothing was kept.
    public static let cancelled = Self("Cancelled")
}
