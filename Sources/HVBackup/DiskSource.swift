import HVBackupStore
import HVDomainXML
import HVLibvirt
import HVNBD
import HVProtocol

/// Where a machine's disks are read from for a backup: a running machine through a pull-mode
/// backup job, a stopped one through qemu-nbd serving each image read-only.
public enum DiskSource: Sendable {
    case running(PullBackup)
    case stopped(StoppedImages)

    /// The chunk size of the chunk repository.
    public static let defaultChunkSize = Repository.defaultChunkSize
    /// A read covers consecutive chunks that hold data, up to this many bytes (whole chunks, at
    /// least one). 1 MiB: with 4 MiB requests a running machine's QEMU spent about 0.5 s more CPU
    /// serving a 2 GiB disk, and the backup took longer on average (docs/BENCHMARKS.md, "Since
    /// qemu-nbd keeps its request buffers, and requests are of 1 MiB").
    static let requestSize = 1 << 20
    /// Reads in flight together, each into a buffer of its own (`ExportReader`).
    static let readsInFlight = 8

    /// Reads every chosen disk, one after the other, handing `body` each chunk in order: zero,
    /// unchanged since the checkpoint, or its bytes. On any failure, a thrown `body` or a cancel
    /// through `observer`, nothing is left behind (no job, no checkpoint this read created) and the
    /// error is thrown: a `BackupError`, or what `body` threw.
    public func read(
        chunkSize: Int = DiskSource.defaultChunkSize,
        observer: BackupObserver = .none, _ body: (DiskChunk) throws -> Void
    ) throws -> BackupSummary {
        guard chunkSize > 0, chunkSize % 4096 == 0 else {
            throw BackupError(
                .invalidRequest, machine: machine, "the chunk size must be a positive multiple of 4096",
                fix: "use the repository's chunk size, such as 256 KiB"
            )
        }
        switch self {
        case .running(let backup): return try backup.read(chunkSize: chunkSize, observer: observer, body)
        case .stopped(let images): return try images.read(chunkSize: chunkSize, observer: observer, body)
        }
    }

    var machine: String {
        switch self {
        case .running(let backup): backup.domain.name
        case .stopped(let images): images.domain.name
        }
    }
}

/// The disks of a domain a backup reads: every disk (not CD-ROMs) with an image, or those named.
struct ChosenDisk {
    var target: String
    var path: String
    var format: String

    static func choose(from facts: DomainFacts, names: [String]?, machine: String) throws(BackupError) -> [ChosenDisk] {
        let disks = facts.disks.filter { $0.device == "disk" }
        let chosen = try names.map { names throws(BackupError) in
            try names.map { name throws(BackupError) in
                guard let disk = disks.first(where: { $0.target == name }) else {
                    throw BackupError(
                        .invalidRequest, machine: machine, "\(machine) has no disk \(name)",
                        fix: "name one of its disks: \(disks.map(\.target).joined(separator: ", "))"
                    )
                }
                return disk
            }
        } ?? disks.filter { !$0.readOnly && $0.sourcePath != nil }
        guard !chosen.isEmpty else {
            throw BackupError(.invalidRequest, machine: machine, "\(machine) has no disk image to back up")
        }
        return try chosen.map { disk throws(BackupError) in
            guard let path = disk.sourcePath, let format = disk.format else {
                throw BackupError(
                    .invalidRequest, machine: machine, "disk \(disk.target) of \(machine) has no image file with a stated format",
                    fix: "back up disks whose domain XML names a file and its format"
                )
            }
            return ChosenDisk(target: disk.target, path: path, format: format)
        }
    }
}

extension BackupError {
    /// An error of one of the layers below, as a backup of `machine` reports it.
    static func from(_ error: any Error, machine: String, code: Code) -> any Error {
        switch error {
        case is BackupError: error
        case is CancelledRead:
            BackupError(.cancelled, machine: machine, "the backup of \(machine) was stopped", fix: "run it again")
        case let error as HVError:
            BackupError(error.code == .invalidParameter ? .invalidRequest : code, machine: machine, error.reason, fix: error.fix)
        case let error as NBDError: BackupError(code, machine: machine, error.reason, fix: error.fix)
        case let error as LibvirtError: BackupError(code, machine: machine, error.message)
        default: error
        }
    }
}
