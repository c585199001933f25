import HVProtocol

/// `org.hypernixos.Backup`: backups into the administrator's repositories.
extension BrokerClient {
    /// Backs a machine up, telling `progress` how far it got a few times a second. The backup
    /// stops, leaving nothing, when this connection closes.
    public func createBackup(of machine: String, repository: String?, progress: (WorkProgress) -> Void) throws(HVError) -> BackupInfo {
        try streamed(Method.backupCreate, BackupCreateParameters(machine: machine, repository: repository), as: BackupReply.self, progress).backup
    }

    public func backups(repository: String?, machine: String?) throws(HVError) -> BackupListReply {
        try connection.call(Method.backupList, BackupListParameters(repository: repository, machine: machine))
    }

    public func backup(_ id: String, repository: String?) throws(HVError) -> BackupInfo {
        try connection.call(Method.backupShow, BackupIdParameters(repository: repository, id: id), as: BackupReply.self).backup
    }

    public func verifyBackup(_ id: String, repository: String?, progress: (WorkProgress) -> Void) throws(HVError) -> BackupVerifyReply {
        try streamed(Method.backupVerify, BackupIdParameters(repository: repository, id: id), as: BackupVerifyReply.self, progress)
    }

    public func restoreBackup(
        _ id: String, repository: String?, as name: String, pool: String?, progress: (WorkProgress) -> Void
    ) throws(HVError) -> BackupRestoreReply {
        try streamed(
            Method.backupRestore, BackupRestoreParameters(repository: repository, id: id, name: name, pool: pool),
            as: BackupRestoreReply.self, progress
        )
    }

    /// Writes the backup's disks (`disks` only, when given) over those of the stopped machine it is of.
    public func restoreBackupInPlace(
        _ id: String, repository: String?, disks: [String]?, progress: (WorkProgress) -> Void
    ) throws(HVError) -> BackupRestoreReply {
        try streamed(
            Method.backupRestore, BackupRestoreParameters(repository: repository, id: id, inPlace: true, disks: disks),
            as: BackupRestoreReply.self, progress
        )
    }

    /// Boot-tests a backup in a scratch machine, telling `progress` which phase it is in.
    public func bootTestBackup(
        _ id: String, repository: String?, marker: String?, timeout: Int?, progress: (WorkProgress) -> Void
    ) throws(HVError) -> BackupBootTestReply {
        try streamed(
            Method.backupBootTest, BackupBootTestParameters(repository: repository, id: id, marker: marker, timeout: timeout),
            as: BackupBootTestReply.self, progress
        )
    }

    /// Each machine's newest backup, attempt and checks, in every repository or the one named.
    public func backupStatus(repository: String?) throws(HVError) -> BackupStatusReply {
        try connection.call(Method.backupStatus, BackupStatusParameters(repository: repository))
    }

    public func deleteBackup(_ id: String, repository: String?) throws(HVError) {
        _ = try connection.call(Method.backupDelete, BackupIdParameters(repository: repository, id: id), as: EmptyReply.self)
    }

    /// A long job called with `more`: the replies before the last carry progress, the last the result.
    func streamed<Parameters: Encodable, Reply: Decodable>(
        _ method: String, _ parameters: Parameters, as reply: Reply.Type, _ progress: (WorkProgress) -> Void
    ) throws(HVError) -> Reply {
        let encoded: [String: JSONValue]
        do {
            encoded = try VarlinkJSON.object(parameters)
        } catch {
            throw HVError(.protocolError, "the parameters of \(method) could not be encoded: \(error)")
        }
        let replies = try connection.openStream(method, parameters: encoded)
        while let parameters = try replies.next() {
            do {
                guard replies.isFinished else {
                    progress(try VarlinkJSON.convert(parameters, to: ProgressReply.self).progress)
                    continue
                }
                return try VarlinkJSON.convert(parameters, to: reply)
            } catch {
                throw HVError(.protocolError, "the broker's reply to \(method) could not be read: \(error)")
            }
        }
        throw HVError(.protocolError, "the broker ended \(method) without a result")
    }
}
