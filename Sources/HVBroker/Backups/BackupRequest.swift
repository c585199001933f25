import HVProtocol

/// A decoded and validated call of `org.hypernixos.Backup`. Repositories are named as the
/// administrator named them, backups by id; neither is ever a host path.
public enum BackupRequest: Sendable, Hashable {
    case create(machine: String, repository: String?)
    case list(repository: String?, machine: String?)
    case show(repository: String?, id: String)
    case verify(repository: String?, id: String)
    case restore(repository: String?, id: String, name: String, pool: String?)
    /// The backup's disks (`disks` only, when given) written over those of the machine it is of.
    case restoreInPlace(repository: String?, id: String, disks: [String]?)
    case delete(repository: String?, id: String)
    case prune(repository: String?, machine: String?, retention: BackupRetention, dryRun: Bool)
    case runJob(String)
    case jobs
    case bootTest(repository: String?, id: String, marker: String, timeout: Int)
    case status(repository: String?)

    public var operation: BrokerOperation {
        switch self {
        case .create: .backupCreate
        case .list: .backupList
        case .show: .backupShow
        case .verify: .backupVerify
        case .restore, .restoreInPlace: .backupRestore
        case .delete: .backupDelete
        case .prune: .backupPrune
        case .runJob: .backupRunJob
        case .jobs: .backupJobs
        case .bootTest: .backupBootTest
        case .status: .backupStatus
        }
    }

    /// What the request acts on: the machine backed up, or a backup (and the machine a restore makes).
    public var object: RequestObject {
        switch self {
        case .create(let machine, _): .backupSource(machine)
        case .list, .prune, .runJob, .jobs, .status: .none
        case .show(let repository, let id), .verify(let repository, let id), .delete(let repository, let id),
            .bootTest(let repository, let id, _, _):
            .backup(repository: repository, id: id, newMachine: nil)
        case .restore(let repository, let id, let name, _): .backup(repository: repository, id: id, newMachine: name)
        case .restoreInPlace(let repository, let id, _): .backup(repository: repository, id: id, newMachine: nil, inPlace: true)
        }
    }

    /// What the audit log records as the request's object.
    public var target: String {
        switch self {
        case .create(let machine, let repository): "\(machine)->\(repository ?? "")"
        case .list(let repository, let machine): "\(repository ?? "")/\(machine ?? "")"
        case .show(let repository, let id), .verify(let repository, let id), .delete(let repository, let id): "\(repository ?? "")/\(id)"
        case .restore(let repository, let id, let name, _): "\(repository ?? "")/\(id)->\(name)"
        case .restoreInPlace(let repository, let id, let disks): "\(repository ?? "")/\(id)->in place\(disks.map { " " + $0.joined(separator: ",") } ?? "")"
        case .prune(let repository, let machine, _, let dryRun): "\(repository ?? "")/\(machine ?? "")\(dryRun ? " (dry run)" : "")"
        case .runJob(let job): "job:\(job)"
        case .jobs: ""
        case .bootTest(let repository, let id, _, _): "\(repository ?? "")/\(id)"
        case .status(let repository): repository ?? ""
        }
    }

    /// Turns a call's parameters into the request of one method.
    typealias Decode = @Sendable ([String: JSONValue]?) throws(HVError) -> BackupRequest

    /// The backup interface's methods, with how each one's parameters are read.
    static let routes: [String: Decode] = [
        Method.backupCreate: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(BackupCreateParameters.self, from: parameters)
            try VmName.validate(decoded.machine, field: "machine")
            try repository(decoded.repository)
            return .create(machine: decoded.machine, repository: decoded.repository)
        },
        Method.backupList: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(BackupListParameters.self, from: parameters)
            try repository(decoded.repository)
            if let machine = decoded.machine { try VmName.validate(machine, field: "machine") }
            return .list(repository: decoded.repository, machine: decoded.machine)
        },
        Method.backupShow: { parameters throws(HVError) in
            let decoded = try backup(parameters)
            return .show(repository: decoded.repository, id: decoded.id)
        },
        Method.backupVerify: { parameters throws(HVError) in
            let decoded = try backup(parameters)
            return .verify(repository: decoded.repository, id: decoded.id)
        },
        Method.backupDelete: { parameters throws(HVError) in
            let decoded = try backup(parameters)
            return .delete(repository: decoded.repository, id: decoded.id)
        },
        Method.backupRestore: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(BackupRestoreParameters.self, from: parameters)
            try repository(decoded.repository)
            try BackupIdText.validate(decoded.id)
            if decoded.inPlace == true {
                try InPlaceRestore.validate(name: decoded.name, pool: decoded.pool, disks: decoded.disks)
                return .restoreInPlace(repository: decoded.repository, id: decoded.id, disks: decoded.disks)
            }
            guard let name = decoded.name else {
                throw .invalidParameter("name", "a restore makes a new machine and needs its name", fix: "name it, or restore in place with inPlace")
            }
            try VmName.validate(name)
            if let pool = decoded.pool { try VmName.validate(pool, field: "pool", kind: "pool") }
            if decoded.disks != nil {
                throw .invalidParameter(
                    "disks", "single disks are restored only in place: a new machine gets every disk of the backup",
                    fix: "leave out disks, or restore in place with inPlace"
                )
            }
            return .restore(repository: decoded.repository, id: decoded.id, name: name, pool: decoded.pool)
        },
        Method.backupPrune: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(BackupPruneParameters.self, from: parameters)
            try repository(decoded.repository)
            if let machine = decoded.machine { try VmName.validate(machine, field: "machine") }
            try decoded.retention.validate()
            return .prune(repository: decoded.repository, machine: decoded.machine, retention: decoded.retention, dryRun: decoded.dryRun ?? false)
        },
        Method.backupRunJob: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(BackupRunJobParameters.self, from: parameters)
            try VmName.validate(decoded.job, field: "job", kind: "job")
            return .runJob(decoded.job)
        },
        Method.backupJobs: { parameters throws(HVError) in
            _ = try StrictDecoding.decode(NoParameters.self, from: parameters)
            return .jobs
        },
        Method.backupBootTest: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(BackupBootTestParameters.self, from: parameters)
            try repository(decoded.repository)
            try BackupIdText.validate(decoded.id)
            let marker = decoded.marker ?? BootTestLimits.defaultMarker
            try BootTestLimits.validate(marker: marker)
            let timeout = decoded.timeout ?? BootTestLimits.defaultTimeout
            try BootTestLimits.validate(timeout: timeout)
            return .bootTest(repository: decoded.repository, id: decoded.id, marker: marker, timeout: timeout)
        },
        Method.backupStatus: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(BackupStatusParameters.self, from: parameters)
            try repository(decoded.repository)
            return .status(repository: decoded.repository)
        },
    ]

    private static func backup(_ parameters: [String: JSONValue]?) throws(HVError) -> BackupIdParameters {
        let decoded = try StrictDecoding.decode(BackupIdParameters.self, from: parameters)
        try repository(decoded.repository)
        try BackupIdText.validate(decoded.id)
        return decoded
    }

    private static func repository(_ name: String?) throws(HVError) {
        if let name { try RepositoryName.validate(name) }
    }
}
