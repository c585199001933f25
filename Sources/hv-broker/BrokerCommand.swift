import ArgumentParser
import CSystemd
import Foundation
import HVAudit
import HVBroker
import HVImages
import HVServer
import HVSystem
import HVWork
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hv-broker",
        abstract: "The Hyper-NixOS broker: the only process that talks to libvirt, on behalf of polkit-authorized clients.",
        discussion: "Adopts the socket systemd passes (socket activation) or binds --socket itself.",
        subcommands: [BackupKeyCommand.self, BackupSyncCommand.self, BackupGeneratorCommand.self]
    )

    @Option(help: "Socket to bind when systemd passes none.") var socket = "/run/hypervisor/broker.sock"
    @Option(help: "Socket for calls that hand over an open file (hv iso add); bound when systemd passes only one socket.")
    var uploadSocket = "/run/hypervisor/upload.sock"
    @Option(help: "The libvirt connection URI.") var libvirtUri = "qemu:///system"
    @OptionGroup(title: "The audit log") var auditOptions: AuditOptions
    @Option(help: "State directory; disk images live in DIR/images, ISO images in DIR/isos.") var stateDir = "/var/lib/hypervisor"
    @Option(help: "Directory for the machines' serial console logs.") var consoleDir = "/var/log/hypervisor/console"
    @Option(help: "The libvirt storage pool (a directory pool over DIR/images) the broker manages.") var pool = "hypervisor-images"
    @Option(help: "Exit after this many seconds without clients (0: never).") var idleExit = 0
    @OptionGroup(title: "Limits of the broker socket") var limits: ServerLimitOptions
    @Option(help: "Most clients of the upload socket served at once.") var maxUploads = Self.uploadDefaults.maximumClients
    @Option(help: "Most connections to the upload socket one user (other than root and --exempt-user) may hold at once.")
    var maxUploadsPerUser = Self.uploadDefaults.maximumClientsPerUser
    @Option(help: "Most serial console sessions (hv console) at once.") var maxConsoles = Self.consoleDefaults.total
    @Option(help: "Most console sessions one user (other than root and --exempt-user) may hold at once.")
    var maxConsolesPerUser = Self.consoleDefaults.perUser
    @OptionGroup(title: "Threads for blocking work, kept apart by kind and shared fairly among users") var pools: PoolOptions
    @Option(
        help: "The host policy: per-machine limits, group quotas, allowed bridges and pools (YAML; a missing file means the defaults, with limits that follow the host)."
    )
    var policy = "/etc/hypernixos/policy.yaml"
    @Option(
        help: "The backup repositories (YAML; a missing file means none). See docs/BACKUPS.md, \"Using backups\"."
    )
    var backupConfig = BackupConfiguration.defaultPath
    @Option(
        name: .customLong("tool"),
        help: ArgumentHelp(
            "A program the broker runs, by absolute path: qemu-img, qemu-nbd, env, prlimit, gpgv, xorriso, genisoimage or rclone (repeatable). The others are looked for in /usr/bin, /usr/local/bin and /run/current-system/sw/bin.",
            valueName: "name=path"
        )
    )
    var tools: [String] = []

    private static let uploadDefaults = DescriptorServerConfiguration(listener: .path(""))
    private static let consoleDefaults = ConsoleSessions.Limits()

    func validate() throws {
        guard maxUploads > 0, maxUploadsPerUser > 0, maxConsoles > 0, maxConsolesPerUser > 0, idleExit >= 0 else {
            throw ValidationError(
                "--max-uploads, --max-uploads-per-user, --max-consoles and --max-consoles-per-user must be positive, "
                    + "--idle-exit not negative"
            )
        }
    }

    func run() async throws {
        var logger = Logger(label: "hv-broker")
        logger.logLevel = ProcessInfo.processInfo.environment["HV_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info

        let layout = StorageLayout(
            stateDirectory: stateDir, consoleDirectory: consoleDir, poolName: pool,
            tpmStateDirectory: StorageLayout.tpmStateDirectory(uri: libvirtUri)
        )
        try layout.createDirectories()
        let audit = try await Self.openAudit(auditOptions, logger: logger)

        let hostPolicy = try Self.loadPolicy(path: policy, layout: layout, logger: logger)
        let toolLocator: ToolLocator
        do {
            toolLocator = try ToolLocator.configured(tools)
        } catch {
            logger.critical("program path refused", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
        for (name, path) in toolLocator.configured.sorted(by: { $0.key < $1.key }) {
            logger.info("program given by path", metadata: ["program": "\(name)", "path": "\(path)"])
        }
        let backupConfiguration: BackupConfiguration
        do {
            backupConfiguration = try BackupConfiguration.load(
                path: backupConfig, calendar: SystemdCalendar(runner: ProcessRunner(locator: toolLocator, logger: logger))
            )
        } catch {
            logger.critical("backup configuration refused", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
        logger.info(
            "backup repositories and jobs",
            metadata: [
                "configuration": "\(backupConfig)", "repositories": "\(backupConfiguration.repositories.map(\.name))",
                "jobs": "\(backupConfiguration.jobs.map(\.name))",
            ]
        )

        let polkitPool = WorkPool(pools.polkit)
        let hypervisorPools = HypervisorPools(libvirt: WorkPool(pools.libvirt), jobs: WorkPool(pools.jobs))
        let hypervisor = LibvirtHypervisor(
            uri: libvirtUri, layout: layout, policy: hostPolicy, tools: toolLocator,
            backups: BackupRepositories(configuration: backupConfiguration, configurationPath: backupConfig), pools: hypervisorPools,
            logger: logger
        )
        await hypervisor.recoverAtStart()
        let listeners = Self.listeners(fallback: socket, upload: uploadSocket)
        var configuration = ServerConfiguration(listener: listeners.broker)
        try limits.apply(to: &configuration)
        // The dispatcher's blocking calls run on its pools (but for the few hundred bytes of a backup
        // attempt's record), so its calls may run on the event loops.
        configuration.tasksOnEventLoop = true
        var consoleLimits = ConsoleSessions.Limits()
        consoleLimits.total = maxConsoles
        consoleLimits.perUser = maxConsolesPerUser
        consoleLimits.exemptUsers = configuration.exemptUsers
        let consoles = ConsoleSessions(limits: consoleLimits)
        let dispatcher = Dispatcher(
            hypervisor: hypervisor,
            authorizer: PolkitAuthorizer(pool: polkitPool, timeout: .seconds(pools.polkitTimeout), logger: logger),
            audit: audit,
            consoles: consoles,
            logger: logger
        )

        configuration.idleExit = idleExit > 0 ? .seconds(idleExit) : nil
        // An open console keeps the broker that pumps it.
        configuration.busyElsewhere = { consoles.active > 0 }
        var uploadConfiguration = DescriptorServerConfiguration(listener: listeners.upload)
        uploadConfiguration.maximumClients = maxUploads
        uploadConfiguration.maximumClientsPerUser = maxUploadsPerUser
        uploadConfiguration.exemptUsers = configuration.exemptUsers

        let server = BrokerServer(name: "broker", configuration: configuration, handler: dispatcher, logger: logger)
        let uploads = DescriptorServer(name: "upload", configuration: uploadConfiguration, handler: dispatcher, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: server, successTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: uploads, successTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: consoles, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        // Counts of coalesced refusals whose window is still open are written now.
        await audit.flush()
        try await hypervisorPools.shutdownGracefully()
        try await polkitPool.shutdownGracefully()
    }

    /// Reads the host policy; the limits it does not set follow the host. Logs the
    /// limits in force and where each comes from; a policy file that is wrong stops the broker.
    static func loadPolicy(path: String, layout: StorageLayout, logger: Logger) throws -> HostPolicy {
        var host: HostCapacity?
        do {
            host = try HostCapacity(reading: HostHardware(), imageDirectory: layout.imageDirectory, isoDirectory: layout.isoDirectory)
        } catch {
            logger.warning("cannot read the host's resources; limits the policy does not set are the largest a spec may ask", metadata: ["error": "\(error)"])
        }
        let hostPolicy: HostPolicy
        do {
            hostPolicy = try HostPolicy.load(path: path, host: host)
        } catch {
            logger.critical("host policy refused", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
        let file = FileManager.default.fileExists(atPath: path) ? path : "none at \(path)"
        let otherwise = host == nil ? "set in \(path), or the largest a spec may ask" : "set in \(path)"
        var metadata: Logger.Metadata = ["policy file": "\(file)"]
        for (setting, value) in hostPolicy.limitsInForce(otherwise: otherwise) { metadata[setting] = "\(value)" }
        logger.info("per-machine limits in force", metadata: metadata)
        return hostPolicy
    }

    /// Opens the audit log and verifies what was appended since the last verified record (only
    /// that: start-up does not read the history). Damage found is the run's first record.
    static func openAudit(_ options: AuditOptions, logger: Logger) async throws -> AuditLog {
        let audit = try AuditLog(path: options.auditLog, configuration: try options.configuration()) { problem in
            logger.error("audit log housekeeping failed", metadata: ["problem": "\(problem)"])
        }
        var problems = audit.startupProblem.map { [$0] } ?? []
        let verification = await audit.verifyRecent()
        if !verification.intact {
            let place = [verification.segment, verification.brokenAtLine.map { "line \($0)" }].compactMap { $0 }.joined(separator: " ")
            problems.append("the chain breaks at \(place): \(verification.reason ?? "it does not verify")")
        }
        for problem in problems {
            logger.error("audit log damaged", metadata: ["problem": "\(problem)"])
            try await audit.append(Self.startRecord(problem))
        }
        return audit
    }

    /// The record that opens a run whose audit log was found damaged.
    static func startRecord(_ problem: String) -> AuditRecord {
        AuditRecord(
            time: AuditRecord.timestamp(), uid: getuid(), gid: getgid(),
            pid: getpid(), executable: CommandLine.arguments[0], method: "(broker start)", action: "", target: "audit",
            decision: "alert", result: problem, durationMs: 0
        )
    }

    /// The sockets systemd passed (hv-broker.socket: the broker socket, then the upload socket);
    /// otherwise the paths to bind.
    static func listeners(fallback path: String, upload: String) -> (broker: ServerConfiguration.Listener, upload: ServerConfiguration.Listener) {
        let count = sd_listen_fds(1)
        let broker: ServerConfiguration.Listener =
            count >= 1 ? .inherited(descriptor: Descriptor(SD_LISTEN_FDS_START, name: "the broker socket systemd passed")) : .path(path)
        let uploads: ServerConfiguration.Listener =
            count >= 2 ? .inherited(descriptor: Descriptor(SD_LISTEN_FDS_START + 1, name: "the upload socket systemd passed")) : .path(upload)
        return (broker, uploads)
    }
}
