import Glibc

/// A system call that failed: what was being done and the `errno` it failed with, read as
/// "cannot open /x: Permission denied". Callers turn it into their own error types.
public struct SystemError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The `errno` value (ENOENT, EACCES, …).
    public var code: Int32
    /// What was being done, as a phrase that follows "cannot": "open /x", "read the upload".
    public var action: String

    public init(_ action: String, code: Int32 = errno) {
        self.action = action
        self.code = code
    }

    /// The system's text for `code`: "No such file or directory".
    public var reason: String { String(cString: strerror(code)) }

    public var description: String { "cannot \(action): \(reason)" }
}

/// Calls `body` again while it fails with EINTR (returns -1 with `errno` EINTR); returns its result.
///
/// `close` is the one call never to retry: Linux releases the descriptor even when it reports
/// EINTR, and a second close could close a descriptor another thread has opened meanwhile.
public func retryingInterrupts<T: BinaryInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}

/// Runs a system call that returns -1 and sets `errno` when it fails: again while it fails with
/// EINTR, and otherwise throws `SystemError` naming `action`. Returns the call's result.
@discardableResult
public func systemCall<T: BinaryInteger>(_ action: @autoclosure () -> String, _ body: () -> T) throws(SystemError) -> T {
    let result = retryingInterrupts(body)
    guard result != -1 else {
        let code = errno
        throw SystemError(action(), code: code)
    }
    return result
}
