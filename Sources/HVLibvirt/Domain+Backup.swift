import CLibvirt

extension Domain {
    /// Begins a backup job described by `<domainbackup>` XML (`virDomainBackupBegin`). In pull
    /// mode QEMU serves each disk, as it is at this moment, over NBD until the job is ended with
    /// `abortJob()`. With `checkpointXML`, the checkpoint is created in the same step, so the next
    /// incremental backup starts exactly where this one's view of the disks was taken.
    ///
    /// A domain has one backup job at a time: a second is refused (`isOperationInvalid`).
    public func beginBackup(xml: String, checkpointXML: String?) throws(LibvirtError) {
        _ = try Call.status("beginning a backup of \(name)") { virDomainBackupBegin(pointer, xml, checkpointXML, 0) }
    }

    /// The running backup job's XML (`virDomainBackupGetXMLDesc`), with what libvirt filled in:
    /// export and bitmap names, scratch files. Fails with `isNoDomainBackup` when none runs.
    public func backupXMLDescription() throws(LibvirtError) -> String {
        try Call.ownedString("reading the backup job of \(name)") { virDomainBackupGetXMLDesc(pointer, 0) }
    }

    /// Ends the domain's running job (`virDomainAbortJob`). A pull-mode backup has no end of its
    /// own: this is how it ends, its NBD server stopped and scratch files removed; the checkpoint
    /// created with it stays. Fails with `isOperationInvalid` when no job runs.
    public func abortJob() throws(LibvirtError) {
        _ = try Call.status("ending the job of \(name)") { virDomainAbortJob(pointer) }
    }

    /// The domain's current job, as libvirt reports it (`virDomainGetJobStats`).
    public struct JobStats: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            case none, bounded, unbounded, completed, failed, cancelled, unknown
        }

        public var kind: Kind
        /// What started the job (`VIR_DOMAIN_JOB_OPERATION_*`), such as 9 for a backup.
        public var operation: Int64?
        /// Every field libvirt returned (`operation`, `time_elapsed`, `disk_total`, …).
        public var fields: TypedParameters

        /// Whether the job is a backup (`VIR_DOMAIN_JOB_OPERATION_BACKUP`).
        public var isBackup: Bool { operation == Int64(VIR_DOMAIN_JOB_OPERATION_BACKUP.rawValue) }

        init(type: Int32, fields: TypedParameters) {
            kind = switch UInt32(bitPattern: type) {
            case VIR_DOMAIN_JOB_NONE.rawValue: .none
            case VIR_DOMAIN_JOB_BOUNDED.rawValue: .bounded
            case VIR_DOMAIN_JOB_UNBOUNDED.rawValue: .unbounded
            case VIR_DOMAIN_JOB_COMPLETED.rawValue: .completed
            case VIR_DOMAIN_JOB_FAILED.rawValue: .failed
            case VIR_DOMAIN_JOB_CANCELLED.rawValue: .cancelled
            default: .unknown
            }
            operation = fields.int64(VIR_DOMAIN_JOB_OPERATION)
            self.fields = fields
        }
    }

    /// The domain's current job; `kind` is `.none` when it has none.
    public func jobStats() throws(LibvirtError) -> JobStats {
        var type: Int32 = 0
        var parameters: virTypedParameterPtr?
        var count: Int32 = 0
        _ = try Call.status("reading the job of \(name)") { virDomainGetJobStats(pointer, &type, &parameters, &count, 0) }
        defer { virTypedParamsFree(parameters, count) }
        return JobStats(type: type, fields: TypedParameters(copying: parameters, count: count))
    }
}
