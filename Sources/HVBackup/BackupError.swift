import HVProtocol

/// Why reading a machine's disks for a backup failed, with what to do about it.
public struct BackupError: DiagnosedError, Hashable, Sendable {
    public typealias Code = ErrorCode<BackupError>

    public var code: Code
    /// The machine whose disks were being read.
    public var machine: String
    public var reason: String
    public var fix: String?

    public init(_ code: Code, machine: String, _ reason: String, fix: String? = nil) {
        self.code = code
        self.machine = machine
        self.reason = reason
        self.fix = fix
    }

    /// The error as the broker's clients see it.
    public var hvError: HVError {
        let details = ["name": machine]
        return switch code {
        case .invalidRequest: HVError(.invalidParameter, reason, fix: fix, details: details)
        case .checkpointMissing: HVError(.notFound, reason, fix: fix, details: details)
        case .machineStopped, .machineRunning, .busy: HVError(.invalidState, reason, fix: fix, details: details)
        default: HVError(.failed, reason, fix: fix, details: details)
        }
    }
}

extension BackupError.Code {
    /// The request can't be carried out as asked: no such disk, a raw disk in an incremental backup,
    /// a working directory whose socket path would be too long.
    public static let invalidRequest = Self("BackupInvalidRequest")
    /// The checkpoint an incremental backup starts from does not exist (any more).
    public static let checkpointMissing = Self("BackupCheckpointMissing")
    /// The machine stopped, or was not running when a running machine's backup was asked for.
    public static let machineStopped = Self("BackupMachineStopped")
    /// The machine runs (or started while its images were read), so its images can't be read directly.
    public static let machineRunning = Self("BackupMachineRunning")
    /// Another job (a backup, a migration, a block job) holds the machine.
    public static let busy = Self("BackupBusy")
    /// libvirt refused or failed the backup job.
    public static let jobFailed = Self("BackupJobFailed")
    /// Reading a disk over NBD failed.
    public static let readFailed = Self("BackupReadFailed")
    /// The caller stopped the backup.
    public static let cancelled = Self("BackupCancelled")
}
