import HVProtocol

/// Why a pool did not run a piece of work, with what to do about it.
public struct WorkPoolError: Error, Hashable, Sendable, CustomStringConvertible {
    public typealias Code = ErrorCode<WorkPoolError>

    public var code: Code
    /// The pool's name (`polkit`, `libvirt`, `jobs`).
    public var pool: String
    /// The bound that was reached, for `queueFull`.
    public var limit: Int?
    public var reason: String
    public var fix: String?

    public init(_ code: Code, pool: String, limit: Int? = nil, reason: String, fix: String? = nil) {
        self.code = code
        self.pool = pool
        self.limit = limit
        self.reason = reason
        self.fix = fix
    }

    public var description: String {
        guard let fix else { return reason }
        return "\(reason) (fix: \(fix))"
    }
}

extension WorkPoolError {
    /// The error as the broker's clients see it: a full queue is `Busy`, naming the pool and the
    /// bound; a pool shutting down means the broker is stopping.
    public var hvError: HVError {
        switch code {
        case .queueFull:
            var details = ["pool": pool]
            if let limit { details["limit"] = String(limit) }
            return HVError(.busy, reason, fix: fix, details: details)
        case .shutDown:
            return HVError(.hypervisorUnavailable, reason, fix: fix)
        default:
            return HVError(.failed, reason, fix: fix)
        }
    }
}

extension WorkPoolError.Code {
    /// The caller already has as much work waiting in this pool as it may.
    public static let queueFull = Self("QueueFull")
    /// The caller stopped waiting (its connection went away) before the work ran.
    public static let cancelled = Self("Cancelled")
    /// The pool is shutting down.
    public static let shutDown = Self("ShutDown")
}
