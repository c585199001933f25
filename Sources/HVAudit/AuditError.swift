import HVProtocol
import HVSystem

/// Why the audit log could not be opened, written or read.
public struct AuditError: Error, Hashable, Sendable, CustomStringConvertible {
    public typealias Code = ErrorCode<AuditError>

    public var code: Code
    public var reason: String
    public var fix: String?

    public init(_ code: Code, _ reason: String, fix: String? = nil) {
        self.code = code
        self.reason = reason
        self.fix = fix
    }

    public var description: String { reason }

    /// Runs `body`, whose system calls go through `HVSystem`, and reports a failed one as the log
    /// does: "cannot write to /var/log/hyper/audit.jsonl: No space left on device". `action`
    /// words what was being done where the log says it differently from the call itself.
    @discardableResult
    static func catching<T>(_ code: Code, doing action: String? = nil, _ body: () throws -> T) throws(AuditError) -> T {
        do {
            return try body()
        } catch let error as SystemError {
            throw AuditError(code, "cannot \(action ?? error.action): \(error.reason)")
        } catch {
            throw error as? AuditError ?? AuditError(code, "\(error)")
        }
    }
}

extension AuditError.Code {
    /// A record, the head, the manifest or a segment could not be written.
    public static let unwritable = Self("AuditUnwritable")
    /// A file of the log could not be read.
    public static let unreadable = Self("AuditUnreadable")
    /// An option of the log (segment size, age, retention) is not usable.
    public static let invalidConfiguration = Self("AuditInvalidConfiguration")
    /// The log was closed; nothing more is written.
    public static let closed = Self("AuditClosed")
}
