import HVProtocol

/// Why a download failed. Tests compare codes; `hvError` gives the CLI its message and exit status.
public struct DownloadError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Not an http or https URL (`file:`, `ftp:`, a redirect elsewhere), or not a URL at all.
        public static let unsupportedURL = Code(rawValue: "UnsupportedURL")
        /// The expected SHA-256 is not 64 hexadecimal digits.
        public static let invalidChecksum = Code(rawValue: "InvalidChecksum")
        /// The server answered with a status that is not the file.
        public static let httpStatus = Code(rawValue: "HTTPStatus")
        public static let tooManyRedirects = Code(rawValue: "TooManyRedirects")
        /// The connection failed or broke, after every retry.
        public static let connection = Code(rawValue: "Connection")
        /// The server resumed at another offset than asked; the partial file is discarded.
        public static let rangeMismatch = Code(rawValue: "RangeMismatch")
        /// The file's SHA-256 is not the expected one; nothing was kept.
        public static let checksumMismatch = Code(rawValue: "ChecksumMismatch")
        /// The file could not be written.
        public static let file = Code(rawValue: "File")
        /// The caller stopped the download; the partial file is kept for a later resume.
        public static let cancelled = Code(rawValue: "Cancelled")
    }

    public var code: Code
    public var reason: String
    public var fix: String?
    /// The HTTP status, for `httpStatus`.
    public var status: Int?

    public init(_ code: Code, _ reason: String, fix: String? = nil, status: Int? = nil) {
        self.code = code
        self.reason = reason
        self.fix = fix
        self.status = status
    }

    public var description: String {
        guard let fix else { return reason }
        return "\(reason)\nfix: \(fix)"
    }

    /// Worth another attempt: a broken connection, a server-side failure, a resume gone wrong.
    var isRetryable: Bool {
        switch code {
        case .connection, .rangeMismatch: true
        case .httpStatus: (status ?? 0) >= 500 || status == 408 || status == 429
        default: false
        }
    }

    /// The same failure as the CLI reports errors.
    public var hvError: HVError {
        let kind: HVError.Code = switch code {
        case .unsupportedURL, .invalidChecksum: .invalidParameter
        case .httpStatus where status == 404 || status == 410: .notFound
        default: .failed
        }
        var details = ["kind": code.rawValue]
        if code == .unsupportedURL { details["parameter"] = "url" }
        if code == .invalidChecksum { details["parameter"] = "sha256" }
        return HVError(kind, reason, fix: fix, details: details)
    }
}
