import Glibc
import HVProtocol
import HVSystem

/// Why a repository could not be opened, written, read or checked, with how to fix it.
///
/// `hvError` turns it into the broker's wire error, keeping invalid input, missing things, state
/// and failures apart.
public struct BackupError: DiagnosedError, Hashable, Sendable {
    public typealias Code = ErrorCode<BackupError>

    public var code: Code
    public var reason: String
    public var fix: String?

    public init(_ code: Code, _ reason: String, fix: String? = nil) {
        self.code = code
        self.reason = reason
        self.fix = fix
    }

    /// A failed system call while doing `action` ("write chunk 3 of vda"): `noSpace` when the
    /// file system is full, `ioFailed` otherwise; the reason names the action, the file and errno.
    init(_ error: SystemError, doing action: String) {
        let full = error.code == ENOSPC || error.code == EDQUOT
        self.init(
            full ? .noSpace : .ioFailed, "cannot \(action): \(error.description)",
            fix: full ? "prune old backups and collect garbage, or give the repository's file system more room" : nil
        )
    }

    /// The error as the broker reports it to clients.
    public var hvError: HVError {
        HVError(Self.wireCodes[code] ?? .failed, reason, fix: fix)
    }

    private static let wireCodes: [Code: HVError.Code] = [
        .invalidArgument: .invalidParameter,
        .notFound: .notFound,
        .alreadyExists: .alreadyExists,
        .invalidState: .invalidState,
        .keyRequired: .invalidState,
        .wrongKey: .invalidState,
    ]
}

extension BackupError.Code {
    /// A parameter is malformed: a name, a chunk index, a chunk of the wrong length, a policy.
    public static let invalidArgument = Self("InvalidArgument")
    /// No repository, backup, disk or key file there.
    public static let notFound = Self("NotFound")
    /// A repository or key file is already there.
    public static let alreadyExists = Self("AlreadyExists")
    /// The call does not fit what was done before (a disk left unfinished, a writer committed).
    public static let invalidState = Self("InvalidState")
    /// The repository is encrypted and no key was given.
    public static let keyRequired = Self("KeyRequired")
    /// The key given is not the repository's, or the repository is not encrypted.
    public static let wrongKey = Self("WrongKey")
    /// A file of the repository does not hold what it should: a manifest, an index, its configuration.
    public static let corrupt = Self("Corrupt")
    /// A chunk is missing or does not hash to its name.
    public static let badChunk = Self("BadChunk")
    /// The repository's file system is full.
    public static let noSpace = Self("NoSpace")
    /// A file system call failed.
    public static let ioFailed = Self("IOFailed")
}

/// Runs `body`, whose system calls go through `HVSystem`, reporting a failed one as `action`
/// failing ("write the index of vda").
func catching<T>(_ action: @autoclosure () -> String, _ body: () throws(SystemError) -> T) throws(BackupError) -> T {
    do {
        return try body()
    } catch {
        throw BackupError(error, doing: action())
    }
}
