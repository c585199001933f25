import Foundation
import HVDomainXML
import HVImages
import HVLibvirt
import HVProtocol
import HVServer
import HVWork
import Logging
import Synchronization

/// The hypervisor behind the broker: libvirt, called on a pool of threads of its own so no event
/// loop or Swift concurrency thread blocks, and long jobs (hashing, copying) on another.
///
/// The connection opens lazily and reopens after libvirtd goes away; meanwhile requests get
/// `HypervisorUnavailable` rather than hanging.
public final class LibvirtHypervisor: Hypervisor {
    public let uri: String
    public let layout: StorageLayout
    /// The administrator's limits, quotas and allow-lists.
    public let policy: HostPolicy
    /// Where host CPUs, hugepages and devices are read for the admin-only host features.
    public let hardware: HostHardware
    /// Where the programs the broker runs are (qemu-img, prlimit, gpgv, xorriso).
    public let tools: ToolLocator
    /// The administrator's backup repositories (docs/BACKUPS.md).
    public let backups: BackupRepositories
    /// Each machine's newest backup attempt, kept in the state directory.
    public let backupAttempts: BackupAttempts
    /// Where libvirt calls and long jobs run, apart from each other and from polkit checks.
    let pools: HypervisorPools
    let logger: Logger
    private let connection = Mutex<Connection?>(nil)
    private let kvm = Mutex<KvmStatus?>(nil)
    private let poolSetup = Mutex(())
    /// Changes checked against the host policy, from the check to the change: see `underPolicy`.
    private let policyLock = KeyedLock()
    /// The images being added, counted toward the totals before they are stored.
    let imageLedger = ImageLedger()
    let events: EventHub
    /// The machines' records between bulk reads, kept fresh by libvirt's events: see `RecordCache`.
    let recordCache = RecordCache()
    /// The journal of changes that made volumes and have not finished: see `recoverInterruptedWork`.
    let pending: PendingWork
    /// Pool and network names from the last time libvirt listed them, for health checks while it can't.
    let lastKnown = Mutex<(pools: [String], networks: [String])>(([], []))

    public init(
        uri: String, layout: StorageLayout, policy: HostPolicy = HostPolicy(), hardware: HostHardware = HostHardware(),
        tools: ToolLocator = ToolLocator(), backups: BackupRepositories = BackupRepositories(), pools: HypervisorPools, logger: Logger
    ) {
        self.backups = backups
        self.backupAttempts = BackupAttempts(path: layout.stateDirectory + "/backup-attempts.json")
        self.uri = uri
        self.layout = layout
        self.policy = policy
        self.hardware = hardware
        self.tools = tools
        self.events = EventHub(uri: uri, logger: logger)
        self.pending = PendingWork(directory: layout.pendingDirectory)
        self.pools = pools
        self.logger = logger
    }

    // MARK: Host

    public func hostInfo() async throws(HVError) -> HostInfo {
        try await run { connection in
            let node = try connection.nodeInfo()
            let kvm = self.kvmStatus()
            return HostInfo(
                hostname: try connection.hostname(),
                libvirtVersion: try connection.libraryVersion(),
                hypervisorVersion: try connection.hypervisorVersion(),
                hypervisorUri: self.uri,
                cpuModel: node.cpuModel,
                cpus: node.cpus,
                memoryMiB: Int(node.memoryKiB / 1024),
                kvm: kvm,
                domainType: self.domainType(kvm)
            )
        }
    }

    /// Probed once, on first use: whether KVM works does not change while the broker runs.
    func kvmStatus() -> KvmStatus {
        if uri.hasPrefix("test:") { return KvmStatus(usable: false, reason: "libvirt's test driver runs no guests") }
        return kvm.withLock { known in
            if let known { return known }
            let probed = KvmProbe.run()
            logger.info("KVM probe", metadata: ["usable": "\(probed.usable)", "reason": "\(probed.reason)"])
            known = probed
            return probed
        }
    }

    func domainType(_ kvm: KvmStatus) -> String {
        if uri.hasPrefix("test:") { return "test" }
        return kvm.usable ? "kvm" : "qemu"
    }

    // MARK: Machines

    /// Every machine from one bulk call for their states, with the records kept between calls.
    public func list(includeForeign: Bool) async throws(HVError) -> [VmSummary] {
        try await run { connection in
            let domains = try connection.allDomainStatistics(.state)
            let entries = try self.cachedRecords(of: domains.map(\.identity), connection)
            return zip(domains, entries).compactMap { domain, entry -> VmSummary? in
                let record = entry.record
                guard record != nil || includeForeign else { return nil }
                return VmSummary(
                    name: domain.name, state: domain.domainState.rawValue, uuid: domain.uuid, tags: record?.tags ?? [],
                    template: record?.template ?? false, managed: record != nil
                )
            }.sorted { $0.name < $1.name }
        }
    }

    public func info(_ name: String) async throws(HVError) -> VmDetails {
        try await run { connection in try self.details(try self.domain(name, connection)) }
    }

    func details(_ domain: Domain) throws -> VmDetails {
        let info = try domain.info()
        let description = try DomainDescription.of(xml: try domain.xmlDescription())
        let recorded = try self.record(of: domain)
        let entry = recorded.flatMap { Self.autostartEntry(name: domain.name, $0) }
        let features = recorded?.hostFeatures
        return VmDetails(
            name: domain.name, uuid: try domain.uuid(), state: info.state.rawValue, vcpus: info.vcpus,
            memoryMiB: Int(info.maxMemoryKiB / 1024), cpuTimeNs: Int64(clamping: info.cpuTimeNs),
            domainType: description.domainType, autostart: try entry != nil || domain.autostart(), disks: description.disks,
            autostartOrder: entry?.order, hostFeatures: features?.isEmpty == false ? features : nil, tpm: description.hasTPM
        )
    }

    public func create(_ spec: VmSpec, caller: Peer) async throws(HVError) -> VmDetails {
        let machine = MachineSpec(
            name: spec.name, vcpus: spec.vcpus, memory: ByteSize(bytes: UInt64(spec.memoryMiB) * 1024 * 1024),
            disks: [DiskSpec(name: "disk0", size: .gibibytes(UInt64(spec.diskGiB)))], cdrom: spec.iso
        )
        let groups = try await callerGroups(caller)
        let reply = try await underPolicy { () throws(HVError) in
            try await self.run { connection in
                try self.applyPrepared(machine, caller: caller, groups: groups, mustBeNew: true, connection)
            }
        }
        guard let vm = reply.vm else { throw HVError(.failed, "the machine was defined but could not be read back") }
        return vm
    }

    public func start(_ name: String) async throws(HVError) {
        try await run { connection in
            let domain = try self.domain(name, connection)
            if self.ownRecord(domainXML: try domain.xmlDescription(flags: .inactive))?.template == true {
                throw HVError(
                    .invalidState, "'\(name)' is a template; templates are never started, so their disks stay as clones expect",
                    fix: "clone it and start the clone: 'hv vm clone \(name) NEW --linked'", details: ["name": name, "state": "template"]
                )
            }
            let state = try domain.state()
            guard !state.isActive else {
                throw HVError(
                    .invalidState, "'\(name)' is already \(state.rawValue)",
                    fix: "nothing to do; 'hv vm reboot \(name)' restarts it", details: ["name": name, "state": state.rawValue]
                )
            }
            try self.startDomain(domain)
        }
    }

    public func shutdown(_ name: String) async throws(HVError) {
        try await run { connection in try self.domain(name, connection).shutdown() }
    }

    public func reboot(_ name: String) async throws(HVError) {
        try await run { connection in try self.domain(name, connection).reboot() }
    }

    public func kill(_ name: String) async throws(HVError) {
        try await run { connection in try self.domain(name, connection).destroy() }
    }

    public func delete(_ name: String, removeDisks: Bool) async throws(HVError) -> [String] {
        try await run { connection in
            let domain = try self.domain(name, connection)
            let state = try domain.state()
            guard !state.isActive else {
                throw HVError(
                    .invalidState, "'\(name)' is \(state.rawValue); only a stopped machine can be deleted",
                    fix: "stop it first: 'hv vm stop \(name)' (or 'hv vm kill \(name)')",
                    details: ["name": name, "state": state.rawValue]
                )
            }
            let diskPaths = removeDisks ? try DomainDescription(xml: try domain.xmlDescription()).diskSourcePaths : []
            try self.refuseRemovingBases(of: name, diskPaths, connection)
            let uuid = try domain.uuid()
            try domain.undefine()
            self.recordCache.drop(uuid: uuid)
            self.backupAttempts.forget(machine: name)
            self.removeTPMState(uuid: uuid)
            try? FileManager.default.removeItem(atPath: self.layout.consoleLogPath(machine: name))
            try? FileManager.default.removeItem(atPath: self.layout.seedPath(machine: name))
            guard removeDisks else { return [] }
            // A start that slipped in before the undefine leaves a running transient machine:
            // never delete disks under it.
            if let running = try connection.domain(named: name), try running.state().isActive {
                throw HVError(
                    .invalidState, "'\(name)' was started while it was being deleted; it is undefined but still running, and its disks were kept",
                    fix: "stop it with 'hv vm kill \(name)'; an administrator can then remove its images",
                    details: ["name": name, "state": "running"]
                )
            }
            return try self.removeImages(diskPaths, connection)
        }
    }

    public func readConsole(_ name: String, maxBytes: Int) async throws(HVError) -> VmConsoleReply {
        try await run { connection in
            _ = try self.domain(name, connection)
            return try ConsoleLog.tail(path: self.layout.consoleLogPath(machine: name), maxBytes: maxBytes)
        }
    }

    /// Runs a change checked against the host policy while no other such change runs, so the check
    /// sees the state the change will leave behind: two requests that each fit alone but not
    /// together can't both pass.
    func underPolicy<T: Sendable>(_ body: () async throws(HVError) -> T) async throws(HVError) -> T {
        let result: Result<T, HVError> = await policyLock.withLocks(["policy"]) {
            do throws(HVError) {
                return .success(try await body())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    // MARK: Helpers (blocking, on the thread pool)

    /// Runs the broker's programs from where it was told they are.
    var processRunner: ProcessRunner { ProcessRunner(locator: tools, logger: logger) }

    func domain(_ name: String, _ connection: Connection) throws -> Domain {
        guard let domain = try connection.domain(named: name) else { throw HVError.notFound(vm: name) }
        return domain
    }

    /// The host path of an ISO in the library; a symlink or anything but a regular file is refused.
    func libraryISO(_ name: String) throws -> String {
        let path = layout.isoPath(name)
        var status = stat()
        guard lstat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw HVError(
                .notFound, "no ISO image named '\(name)' in the library",
                fix: "ask an administrator to add it to \(layout.isoDirectory)", details: ["field": "iso", "name": name]
            )
        }
        return path
    }

    /// The broker's directory pool, defined, built and started on first use.
    func imagePool(_ connection: Connection) throws -> StoragePool {
        // Concurrent first requests must not race to define the pool.
        try poolSetup.withLock { _ in try self.definePool(connection) }
    }

    private func definePool(_ connection: Connection) throws -> StoragePool {
        let pool: StoragePool
        if let existing = try connection.storagePool(named: layout.poolName) {
            pool = existing
        } else {
            try layout.createDirectories()
            pool = try connection.defineStoragePool(
                xml: try DomainXML.directoryPool(name: layout.poolName, path: layout.imageDirectory)
            )
            try pool.setAutostart(true)
        }
        if !pool.isActive { try pool.start() }
        return pool
    }

    /// Deletes the machine's disk volumes that live in the image directory; never an ISO or a file
    /// elsewhere.
    func removeImages(_ paths: [String], _ connection: Connection) throws -> [String] {
        guard let pool = try connection.storagePool(named: layout.poolName) else { return [] }
        try pool.refresh()
        var removed: [String] = []
        for path in paths where layout.isImage(path) {
            let file = (path as NSString).lastPathComponent
            guard let volume = try pool.volume(named: file) else { continue }
            try volume.delete()
            try TemplateCatalog(stateDirectory: layout.stateDirectory).remove(pool: pool.name, volume: file)
            removed.append(file)
        }
        return removed
    }

    /// Disks that linked clones or spec disks are overlays of can't be deleted under them.
    func refuseRemovingBases(of machine: String, _ paths: [String], _ connection: Connection) throws {
        guard !paths.isEmpty, let pool = try connection.storagePool(named: layout.poolName) else { return }
        for path in paths where layout.isImage(path) {
            guard let volume = try pool.volume(named: (path as NSString).lastPathComponent) else { continue }
            let overlays = try overlays(of: volume, in: pool)
            guard overlays.isEmpty else {
                throw HVError(
                    .invalidState, "\(volume.name) of '\(machine)' is the base of \(overlays.joined(separator: ", ")); deleting it would break them",
                    fix: "delete the machines using those overlays first, or keep the disks (delete without --remove-disks)",
                    details: ["name": machine, "state": "in use"]
                )
            }
        }
    }

    /// Runs a libvirt call on the libvirt pool, charged to the request's caller, translating every
    /// error into an `HVError`.
    func run<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws(HVError) -> T {
        try await onPool(pools.libvirt) { _ in self.perform(body) }
    }

    /// Runs `body` on `pool`, charged to the request's caller; a refusal by the pool (the caller's
    /// queue is full, the broker is stopping) becomes the error.
    func onPool<T: Sendable>(
        _ pool: WorkPool, _ body: @escaping @Sendable (JobContext) -> Result<T, HVError>
    ) async throws(HVError) -> T {
        let result: Result<T, HVError>
        do {
            result = try await pool.run(body)
        } catch {
            throw error.hvError
        }
        return try result.get()
    }

    func perform<T>(_ body: (Connection) throws -> T) -> Result<T, HVError> {
        let current: Connection
        do {
            current = try openConnection()
        } catch {
            return .failure(
                HVError(
                    .hypervisorUnavailable, "libvirt at \(uri) is not reachable: \(error.message)",
                    fix: "start libvirtd (systemctl start libvirtd); the broker reconnects by itself"
                )
            )
        }
        do {
            return .success(try body(current))
        } catch let error as HVError {
            return .failure(error)
        } catch let error as LibvirtError {
            if !current.isAlive {
                connection.withLock { if $0 === current { $0 = nil } }
                return .failure(
                    HVError(
                        .hypervisorUnavailable, "the connection to libvirt was lost: \(error.message)",
                        fix: "check that libvirtd is running, then check the machine's state and retry"
                    )
                )
            }
            return .failure(Self.translate(error))
        } catch {
            return .failure(HVError(.failed, "\(error)"))
        }
    }

    func openConnection() throws(LibvirtError) -> Connection {
        if let existing = connection.withLock({ $0 }), existing.isAlive { return existing }
        let opened = try Connection(uri: uri)
        // Two requests may open one each at the same time: the first one stored is used, the
        // other closed again.
        let current = connection.withLock { stored -> Connection in
            if let stored, stored.isAlive { return stored }
            stored = opened
            return opened
        }
        guard current === opened else { return current }
        logger.info("connected to libvirt", metadata: ["uri": "\(uri)"])
        recordCache.listen(to: opened, logger: logger)
        recoverInterruptedWork(opened)
        return opened
    }

    static func translate(_ error: LibvirtError) -> HVError {
        if error.isNoDomain {
            return HVError(.notFound, error.message, fix: "run 'hv vm list' to see the machines you can reach")
        }
        if error.isAlreadyExisting {
            return HVError(.alreadyExists, error.message, fix: "choose another name")
        }
        if error.isOperationInvalid {
            return HVError(.invalidState, error.message, fix: "run 'hv vm info NAME' to see its state")
        }
        return HVError(.failed, "libvirt: \(error.message)")
    }
}

extension DomainDescription {
    /// The host paths of the domain's disks (not CD-ROMs).
    var diskSourcePaths: [String] {
        sourcePaths.filter { $0.device == "disk" }.map(\.path)
    }
}
