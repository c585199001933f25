import Foundation

/// What a backup's newest checks say about it.
public enum BackupStatus: String, Codable, Sendable, Hashable {
    /// Neither verified nor boot-tested yet.
    case unverified
    /// The newest verification of every disk passed, or the newest boot test did, and nothing failed.
    case ok
    /// A disk's newest verification or the newest boot test failed.
    case bad

    /// A failure outweighs a pass: a backup a boot test could not restore is bad however its
    /// chunks once verified. A boot test that passed read and checked every chunk it restored,
    /// so it counts as a pass when no verification ran; a verification counts only once every
    /// disk has one.
    public init(verifications: [BackupVerification?], bootTest: BackupBootTest?) {
        let verified = verifications.compactMap { $0 }
        if verified.contains(where: { !$0.ok }) || bootTest?.ok == false {
            self = .bad
        } else if bootTest?.ok == true || (!verifications.isEmpty && verified.count == verifications.count) {
            self = .ok
        } else {
            self = .unverified
        }
    }
}

/// A boot test of a backup, as the backup records it: on the wire, and in the backup's manifest
/// (`BackupManifest.bootTests`).
public struct BackupBootTest: Codable, Sendable, Hashable {
    /// Seconds since 1970, when the test ended. The wire carries the number; a manifest keeps the
    /// time as a date (`timeAsDate`).
    public var time: Int64
    public var ok: Bool
    /// What the guest showed: `guest agent` or `console: MARKER`; absent when it showed nothing.
    public var signal: String?

    /// The signal of a guest whose agent answered.
    public static let agentSignal = "guest agent"
    /// The signal of a guest that printed `marker` on its serial console.
    public static func consoleSignal(_ marker: String) -> String { "console: \(marker)" }
    /// Seconds from the start of the restore to the signal or the failure.
    public var seconds: Double
    /// For a failure, what failed (a chunk that could not be restored names backup, disk and chunk).
    public var problem: String?

    public init(time: Int64, ok: Bool, signal: String?, seconds: Double, problem: String?) {
        self.time = time
        self.ok = ok
        self.signal = signal
        self.seconds = seconds
        self.problem = problem
    }

    /// Set to `true` in the `userInfo` of an encoder or decoder that writes and reads the time as
    /// a `Date`, in its own date strategy: a backup's manifest keeps it as an ISO 8601 string, as
    /// it always has.
    public static let timeAsDate = CodingUserInfoKey(rawValue: "org.hypernixos.timeAsDate")!

    private enum CodingKeys: String, CodingKey { case time, ok, signal, seconds, problem }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if decoder.userInfo[Self.timeAsDate] as? Bool == true {
            time = Int64(try container.decode(Date.self, forKey: .time).timeIntervalSince1970.rounded(.down))
        } else {
            time = try container.decode(Int64.self, forKey: .time)
        }
        ok = try container.decode(Bool.self, forKey: .ok)
        signal = try container.decodeIfPresent(String.self, forKey: .signal)
        seconds = try container.decode(Double.self, forKey: .seconds)
        problem = try container.decodeIfPresent(String.self, forKey: .problem)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if encoder.userInfo[Self.timeAsDate] as? Bool == true {
            try container.encode(Date(timeIntervalSince1970: Double(time)), forKey: .time)
        } else {
            try container.encode(time, forKey: .time)
        }
        try container.encode(ok, forKey: .ok)
        try container.encodeIfPresent(signal, forKey: .signal)
        try container.encode(seconds, forKey: .seconds)
        try container.encodeIfPresent(problem, forKey: .problem)
    }
}

/// `Backup.BootTest`: restore a backup into a scratch machine with no network, boot it and wait
/// for a signal from the guest: the guest agent answering, or `marker` on its serial console.
public struct BackupBootTestParameters: Codable, Sendable, Hashable {
    public var repository: String?
    public var id: String
    /// A plain substring the guest prints on its serial console (default `BootTestLimits.defaultMarker`).
    public var marker: String?
    /// Seconds to wait for the signal once the machine is started (default 300).
    public var timeout: Int?

    public init(repository: String? = nil, id: String, marker: String? = nil, timeout: Int? = nil) {
        self.repository = repository
        self.id = id
        self.marker = marker
        self.timeout = timeout
    }
}

/// The result of `Backup.BootTest`: the backup with the test recorded, and the test.
public struct BackupBootTestReply: Codable, Sendable, Hashable {
    public var backup: BackupInfo
    public var test: BackupBootTest

    public init(backup: BackupInfo, test: BackupBootTest) {
        self.backup = backup
        self.test = test
    }
}

/// The bounds of a boot test's parameters.
public enum BootTestLimits {
    /// What a Linux guest prints when it is ready for a login on its serial console.
    public static let defaultMarker = "login:"
    public static let defaultTimeout = 300
    public static let timeouts = 10...1800
    public static let maximumMarkerBytes = 128

    /// A marker is printable ASCII (spaces allowed), 1 to 128 bytes: it is searched for as it is,
    /// never read as a pattern.
    public static func validate(marker: String) throws(HVError) {
        let bytes = Array(marker.utf8)
        guard (1...maximumMarkerBytes).contains(bytes.count), bytes.allSatisfy({ (0x20...0x7e).contains($0) }) else {
            throw .invalidParameter(
                "marker", "the marker must be 1 to \(maximumMarkerBytes) printable ASCII characters",
                fix: "give the text the guest prints on its serial console once it has booted, e.g. 'login:'"
            )
        }
    }

    public static func validate(timeout: Int) throws(HVError) {
        guard timeouts.contains(timeout) else {
            throw .invalidParameter(
                "timeout", "the timeout must be \(timeouts.lowerBound) to \(timeouts.upperBound) seconds, not \(timeout)",
                fix: "choose a timeout in that range (default \(defaultTimeout))"
            )
        }
    }
}

/// The outcome of the newest backup the broker tried of a machine into a repository, kept in the
/// broker's state so that a failed backup shows although it left no backup.
public struct BackupAttempt: Codable, Sendable, Hashable {
    public var repository: String
    public var machine: String
    /// Seconds since 1970, when the attempt ended.
    public var time: Int64
    public var ok: Bool
    /// The backup it made, when it succeeded.
    public var backup: String?
    /// For a failure, the error's code and reason.
    public var code: String?
    public var reason: String?
    /// How long the attempt took.
    public var seconds: Double
    /// How long the newest successful attempt took; kept across failures.
    public var lastSuccessSeconds: Double?

    public init(
        repository: String, machine: String, time: Int64, ok: Bool, backup: String? = nil, code: String? = nil, reason: String? = nil,
        seconds: Double, lastSuccessSeconds: Double? = nil
    ) {
        self.repository = repository
        self.machine = machine
        self.time = time
        self.ok = ok
        self.backup = backup
        self.code = code
        self.reason = reason
        self.seconds = seconds
        self.lastSuccessSeconds = lastSuccessSeconds
    }
}

/// `Backup.Status`: every machine's backup state in every repository, or in the one named.
public struct BackupStatusParameters: Codable, Sendable, Hashable {
    public var repository: String?

    public init(repository: String? = nil) {
        self.repository = repository
    }
}

/// A check of one of a machine's backups: the newest verification or boot test of any of them.
public struct BackupCheck: Codable, Sendable, Hashable {
    public var backup: String
    /// Seconds since 1970.
    public var time: Int64
    public var ok: Bool

    public init(backup: String, time: Int64, ok: Bool) {
        self.backup = backup
        self.time = time
        self.ok = ok
    }
}

/// One machine's backups in one repository: what the monitor exports and alerts on.
public struct BackupMachineStatus: Codable, Sendable, Hashable {
    public var repository: String
    public var machine: String
    /// The newest backup, absent when every attempt failed.
    public var newest: BackupInfo?
    /// The newest attempt the broker made, absent when it made none since its state was new.
    public var lastAttempt: BackupAttempt?
    /// The newest verification of any of the machine's backups (the newest of its disks').
    public var lastVerification: BackupCheck?
    public var lastBootTest: BackupCheck?

    public init(
        repository: String, machine: String, newest: BackupInfo?, lastAttempt: BackupAttempt?, lastVerification: BackupCheck?,
        lastBootTest: BackupCheck?
    ) {
        self.repository = repository
        self.machine = machine
        self.newest = newest
        self.lastAttempt = lastAttempt
        self.lastVerification = lastVerification
        self.lastBootTest = lastBootTest
    }

    /// The status of the machine's backups in a repository, from its backups (any order) and its
    /// newest attempt. A verification of a backup counts by its disks together: it failed when
    /// any disk's did, at the time of the newest of them.
    public init(repository: String, machine: String, backups: [BackupInfo], lastAttempt: BackupAttempt?) {
        let newest = backups.max { $0.time < $1.time }
        var verification: BackupCheck?
        var bootTest: BackupCheck?
        for backup in backups {
            let verifications = backup.disks.compactMap(\.verification)
            if let time = verifications.map(\.time).max(), time >= (verification?.time ?? .min) {
                verification = BackupCheck(backup: backup.id, time: time, ok: verifications.allSatisfy(\.ok))
            }
            if let test = backup.bootTest, test.time >= (bootTest?.time ?? .min) {
                bootTest = BackupCheck(backup: backup.id, time: test.time, ok: test.ok)
            }
        }
        self.init(
            repository: repository, machine: machine, newest: newest, lastAttempt: lastAttempt, lastVerification: verification,
            lastBootTest: bootTest
        )
    }
}

public struct BackupStatusReply: Codable, Sendable, Hashable {
    /// Every repository the administrator configured.
    public var repositories: [String]
    /// Repository by repository, machine by machine.
    public var machines: [BackupMachineStatus]

    public init(repositories: [String], machines: [BackupMachineStatus]) {
        self.repositories = repositories
        self.machines = machines
    }
}
