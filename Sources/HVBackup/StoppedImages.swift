import HVDomainXML
import HVLibvirt
import HVNBD

/// A stopped machine's disk images, each read whole through qemu-nbd serving it read-only (the
/// chunk repository keeps only the chunks it does not have yet).
public struct StoppedImages: Sendable {
    public var domain: Domain
    /// The absolute path of qemu-nbd.
    public var qemuNBD: String
    /// The absolute path of `env`, through which qemu-nbd is started with glibc's malloc settings
    /// for its request buffers (`ServerCommand.mallocTunables`); nil starts it directly.
    public var env: String?
    /// The disks to read by target (`vda`); nil reads every writable disk image.
    public var disks: [String]?
    public var cache: ServerCommand.CacheMode

    public init(domain: Domain, qemuNBD: String, env: String?, disks: [String]? = nil, cache: ServerCommand.CacheMode = .none) {
        self.domain = domain
        self.qemuNBD = qemuNBD
        self.env = env
        self.disks = disks
        self.cache = cache
    }

    func read(chunkSize: Int, observer: BackupObserver, _ body: (DiskChunk) throws -> Void) throws -> BackupSummary {
        let machine = domain.name
        var summary = BackupSummary(disks: [], checkpoint: nil, froze: nil)
        do {
            guard try !domain.isActive() else { throw running(machine) }
            let facts = try DomainFacts.read(domainXML: try domain.xmlDescription(flags: .inactive))
            for disk in try ChosenDisk.choose(from: facts, names: disks, machine: machine) {
                guard let format = ServerCommand.ImageFormat(rawValue: disk.format) else {
                    throw BackupError(
                        .invalidRequest, machine: machine, "disk \(disk.target) of \(machine) is a \(disk.format) image",
                        fix: "only raw and qcow2 images are read"
                    )
                }
                let command = try ServerCommand.qemuNBD(program: qemuNBD, image: disk.path, format: format, cache: cache, env: env)
                let client: NBDClient
                do {
                    client = try NBDClient.start(command, metaContexts: [.allocation])
                } catch {
                    // qemu-nbd refuses an image a machine holds open for writing.
                    if try domain.isActive() { throw running(machine) }
                    throw error
                }
                var disk = BackupSummary.Disk(name: disk.target, size: try client.size())
                let reader = ExportReader(client: client, disk: disk.name, chunkSize: chunkSize, readsInFlight: DiskSource.readsInFlight, bitmap: nil)
                try reader.read(into: &disk, bytesReadBefore: summary.bytesRead, observer: observer, body)
                client.shutdown()
                summary.disks.append(disk)
            }
        } catch {
            throw BackupError.from(error, machine: machine, code: .readFailed)
        }
        return summary
    }

    private func running(_ machine: String) -> BackupError {
        BackupError(
            .machineRunning, machine: machine, "\(machine) is running, so its images can't be read directly",
            fix: "back it up while it runs (a pull-mode backup), or stop it first"
        )
    }
}
