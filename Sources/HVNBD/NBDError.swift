import CLibnbd
import Glibc

/// A failed NBD operation: what kind of failure, the `errno` libnbd recorded, what went wrong and,
/// where there is something to do, how to fix it.
public struct NBDError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Arguments refused before libnbd was called (a relative image path, a zero-sized buffer).
        public static let invalidArgument = Code(rawValue: "NBDInvalidArgument")
        /// The server could not be reached, or the handshake with it failed (no such export, for one).
        public static let connectionFailed = Code(rawValue: "NBDConnectionFailed")
        /// The server did not agree to a metadata context the client asked for.
        public static let metaContextMissing = Code(rawValue: "NBDMetaContextMissing")
        /// A read failed, or the connection broke during one.
        public static let readFailed = Code(rawValue: "NBDReadFailed")
        /// A block status request failed, or the connection broke during one.
        public static let blockStatusFailed = Code(rawValue: "NBDBlockStatusFailed")
        /// libnbd itself failed (no memory for a handle, an unexpected answer).
        public static let failed = Code(rawValue: "NBDFailed")
    }

    public var code: Code
    /// The `errno` libnbd recorded with the failure (`nbd_get_errno`); 0 when it recorded none.
    public var errno: Int32
    public var reason: String
    public var fix: String?

    public init(_ code: Code, errno: Int32 = 0, _ reason: String, fix: String? = nil) {
        self.code = code
        self.errno = errno
        self.reason = reason
        self.fix = fix
    }

    public var description: String {
        guard let fix else { return reason }
        return "\(reason) (fix: \(fix))"
    }

    /// The error libnbd recorded for this thread's last failed call, worded as "cannot ACTION: …".
    static func last(_ code: Code, _ action: String, fix: String? = nil) -> NBDError {
        let message = nbd_get_error().map { String(cString: $0) } ?? "libnbd gave no reason"
        return NBDError(code, errno: nbd_get_errno(), "cannot \(action): \(message)", fix: fix)
    }
}

/// Turns libnbd's return conventions (-1 on failure, the error kept per thread) into values or
/// typed errors; every libnbd call goes through here.
enum NBDCall {
    @discardableResult
    static func status<T: BinaryInteger>(_ code: NBDError.Code, _ action: @autoclosure () -> String, _ body: () -> T)
        throws(NBDError) -> T
    {
        let result = body()
        guard result >= 0 else { throw NBDError.last(code, action()) }
        return result
    }
}
