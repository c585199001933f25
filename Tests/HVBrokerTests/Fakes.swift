import Foundation
import HVAudit
import HVBroker
import HVPolkit
import HVProtocol
import HVServer
import HVSystem
import Logging
import Synchronization

/// Answers every authorization with a fixed outcome (or by `decide`) and remembers what it was asked.
final class FakeAuthorizer: Authorizer {
    let outcome: AuthorizationOutcome
    let decide: (@Sendable (BrokerOperation, [String: String]) -> AuthorizationOutcome)?
    let asked = Mutex<[BrokerOperation]>([])
    let details = Mutex<[[String: String]]>([])

    init(_ outcome: AuthorizationOutcome, decide: (@Sendable (BrokerOperation, [String: String]) -> AuthorizationOutcome)? = nil) {
        self.outcome = outcome
        self.decide = decide
    }

    func authorize(_ operation: BrokerOperation, peer: Peer, details: [String: String]) async -> AuthorizationOutcome {
        // The "may see foreign domains" question is not a request of its own; tests count requests.
        if operation == .vmAdopt && details.isEmpty {
            return decide?(operation, details) ?? .denied
        }
        asked.withLock { $0.append(operation) }
        self.details.withLock { $0.append(details) }
        return decide?(operation, details) ?? outcome
    }
}

/// An in-memory hypervisor that records every call it receives.
final class FakeHypervisor: Hypervisor {
    let calls = Mutex<[String]>([])
    let delay: Duration
    let facts: HealthFacts
    /// Whether the event stream ends after its two events, as when libvirt's connection closes.
    let eventsEnd: Bool

    /// Every state-changing act throws this, when set.
    let refuse: HVError?
    /// Told when a call starts (true) and ends (false).
    nonisolated(unsafe) var onCall: (@Sendable (Bool) -> Void)?

    init(delay: Duration = .zero, facts: HealthFacts = FakeHypervisor.healthyFacts, eventsEnd: Bool = false, refuse: HVError? = nil) {
        self.refuse = refuse
        self.delay = delay
        self.facts = facts
        self.eventsEnd = eventsEnd
    }

    static let healthyFacts = HealthFacts(
        libvirt: .reachable(latency: .microseconds(400), version: "9.0.0"), kvm: KvmStatus(usable: true, reason: "fake"),
        pools: [PoolStats(name: "images", active: true, capacityBytes: 100, allocationBytes: 50, availableBytes: 50)],
        networks: [NetworkStatus(name: "default", active: true, autostart: true, bridge: "virbr0")],
        stoppedAutostartMachines: []
    )

    static let statsReply = HostStatsReply(
        domains: [
            DomainStats(
                name: "web", uuid: "u", state: "running", stateReason: "booted", autostart: true, vcpus: 2,
                cpuTimeNs: 1_000, memoryMaxKiB: 524_288, memoryCurrentKiB: 524_288, memoryRssKiB: 100_000,
                memoryUsableKiB: nil, disks: [DiskStats(target: "vda", readBytes: 10)], interfaces: []
            )
        ],
        pools: healthyFacts.pools ?? [], networks: healthyFacts.networks ?? []
    )

    private func note(_ call: String) async {
        onCall?(true)
        calls.withLock { $0.append(call) }
        if delay > .zero { try? await Task.sleep(for: delay) }
        onCall?(false)
    }

    static let details = VmDetails(
        name: "web", uuid: "u", state: "shutoff", vcpus: 1, memoryMiB: 512, cpuTimeNs: 0, domainType: "qemu",
        autostart: false, disks: []
    )

    func hostInfo() async throws(HVError) -> HostInfo {
        await note("hostInfo")
        return HostInfo(
            hostname: "h", libvirtVersion: "9.0.0", hypervisorVersion: "7.2.0", hypervisorUri: "test:///default",
            cpuModel: "x86_64", cpus: 2, memoryMiB: 1024, kvm: KvmStatus(usable: false, reason: "fake"), domainType: "qemu"
        )
    }

    /// A boot test's scratch machine, charged to the backup's group.
    static let scratch = "hv-boottest-0000beef"

    /// "web" is managed and charged to hypervisor-operators; "foreign" is a domain the broker did not make.
    func resolve(machine name: String) async throws(HVError) -> MachineObject? {
        switch name {
        case "web": MachineObject(name: "web", managed: true, ownerGroup: "hypervisor-operators", ownerUser: "alice", tags: ["lab"])
        case "foreign": MachineObject(name: "foreign", managed: false, ownerGroup: nil, ownerUser: nil)
        case "clash": MachineObject(name: "clash", managed: true, ownerGroup: "team-b", ownerUser: "bob")
        case Self.scratch: MachineObject(name: Self.scratch, managed: true, ownerGroup: "hypervisor-operators", ownerUser: "alice")
        default: nil
        }
    }

    func resolve(volume name: String, pool: String?) async throws(HVError) -> MachineObject? {
        name == "web-disk0.qcow2" ? try await resolve(machine: "web") : nil
    }

    /// `imported.qcow2` is a template imported for `team-a`.
    func importedGroup(ofVolume name: String, pool: String?) async throws(HVError) -> String? {
        name == "imported.qcow2" ? "team-a" : nil
    }

    func chargeGroup(for caller: Peer) -> String { "hypervisor-operators" }

    func list(includeForeign: Bool) async throws(HVError) -> [VmSummary] {
        await note("list foreign=\(includeForeign)")
        return [VmSummary(name: "web", state: "running", uuid: "u")]
    }

    func info(_ name: String) async throws(HVError) -> VmDetails {
        await note("info \(name)")
        guard name == "web" else { throw HVError.notFound(vm: name) }
        return Self.details
    }

    func create(_ spec: VmSpec, caller: Peer) async throws(HVError) -> VmDetails {
        await note("create \(spec.name)")
        return Self.details
    }

    func start(_ name: String) async throws(HVError) {
        await note("start \(name)")
        if let refuse { throw refuse }
    }
    func shutdown(_ name: String) async throws(HVError) { await note("shutdown \(name)") }
    func reboot(_ name: String) async throws(HVError) { await note("reboot \(name)") }
    func kill(_ name: String) async throws(HVError) { await note("kill \(name)") }

    func delete(_ name: String, removeDisks: Bool) async throws(HVError) -> [String] {
        await note("delete \(name) \(removeDisks)")
        return removeDisks ? ["\(name)-disk0.qcow2"] : []
    }

    func readConsole(_ name: String, maxBytes: Int) async throws(HVError) -> VmConsoleReply {
        await note("console \(name) \(maxBytes)")
        return VmConsoleReply(text: "HV-MARKER\n", truncated: false)
    }

    func stats(includeForeign: Bool) async throws(HVError) -> HostStatsReply {
        await note("stats")
        return Self.statsReply
    }

    func healthFacts() async -> HealthFacts {
        await note("health")
        return facts
    }

    /// Two events, then the stream stays open like a real one (or ends, with `eventsEnd`).
    func follow() async throws(HVError) -> AsyncStream<VmEvent> {
        await note("follow")
        let (stream, continuation) = AsyncStream<VmEvent>.makeStream()
        continuation.yield(VmEvent(time: "2026-01-01T00:00:00Z", vm: "web", event: "started", detail: "booted"))
        continuation.yield(VmEvent(time: "2026-01-01T00:00:01Z", vm: "web", event: "stopped", detail: "destroyed"))
        if eventsEnd {
            continuation.finish()
        } else {
            Task { try? await Task.sleep(for: .seconds(30)); continuation.finish() }
        }
        return stream
    }

    func isoAdd(_ parameters: IsoAddParameters, descriptor: Descriptor, caller: Peer) async throws(HVError) -> IsoInfo {
        await note("isoAdd \(parameters.name) uid=\(caller.uid)")
        return IsoInfo(
            name: parameters.name, size: ByteSize(bytes: 0), allocated: ByteSize(bytes: 0), sha256: parameters.sha256, added: 0,
            addedBy: caller.uid, group: nil, source: nil, signatureVerified: false
        )
    }

    func imageImport(
        _ parameters: ImageImportParameters, group: String, descriptor: Descriptor, caller: Peer
    ) async throws(HVError) -> ImportedImageInfo {
        await note("imageImport \(parameters.name) group=\(group) uid=\(caller.uid)")
        return ImportedImageInfo(
            name: parameters.name, pool: "hypervisor-images", sourceFormat: parameters.format ?? "qcow2", virtualSize: ByteSize(bytes: 0),
            allocated: ByteSize(bytes: 0), sha256: parameters.sha256, group: group, source: parameters.source
        )
    }

    /// The guest's ends of the consoles opened, in order: what a test writes there comes out of
    /// the caller's socket, and what the caller types arrives there.
    let consoleGuests = Mutex<[Descriptor]>([])

    func openConsole(_ name: String, force: Bool) async throws(HVError) -> ConsoleAttachment {
        await note("openConsole \(name) force=\(force)")
        if let refuse { throw refuse }
        do {
            let (session, guest) = try Descriptor.socketPair(name: "the console of \(name)")
            consoleGuests.withLock { $0.append(guest) }
            return ConsoleAttachment(stream: try SocketConsoleStream(session), tookOver: force)
        } catch {
            throw HVError(.failed, "\(error)")
        }
    }

    /// A display that greets like a VNC server, and then echoes nothing.
    func openGraphics(_ name: String) async throws(HVError) -> DisplayConnection {
        await note("openGraphics \(name)")
        if let refuse { throw refuse }
        do {
            let (mine, theirs) = try Descriptor.socketPair(name: "the display of \(name)")
            try mine.sendAll(Array("RFB 003.008\n".utf8))
            return DisplayConnection(descriptor: theirs, type: "vnc")
        } catch {
            throw HVError(.failed, "\(error)")
        }
    }

    func screenshot(_ name: String) async throws(HVError) -> VmScreenshotReply {
        await note("screenshot \(name)")
        return VmScreenshotReply(png: "iVBORw0KGgo=", width: 1, height: 1)
    }

    /// Records the request's operation and target; replies with no parameters.
    func perform(_ request: ResourceRequest, caller: Peer) async throws(HVError) -> any ResourceReply {
        if case .vmExport(let name, let redacted) = request {
            await note("vmExport \(name) redacted=\(redacted) uid=\(caller.uid)")
            return EmptyReply()
        }
        await note("\(request.operation.rawValue) \(request.target) uid=\(caller.uid)")
        return EmptyReply()
    }

    /// The backup of "web" in repository "local" (the only one), charged to hypervisor-operators;
    /// `teamBBackup` is a backup of a machine of team-b; `clashBackup` a backup charged to
    /// hypervisor-operators of a machine "clash", which team-b has now.
    static let webBackup = "2026-12-06T09-10-00Z-1f0c9a3e"
    static let teamBBackup = "2026-12-06T09-11-00Z-00000b0b"
    static let clashBackup = "2026-12-06T09-13-00Z-00c1a500"

    func resolve(backup id: String, repository: String?) async throws(HVError) -> BackupObject? {
        guard repository == nil || repository == "local" else {
            throw .invalidParameter("repository", "there is no backup repository named '\(repository ?? "")'", fix: "name one of: local")
        }
        switch id {
        case Self.webBackup: return BackupObject(id: id, repository: "local", machine: "web", ownerGroup: "hypervisor-operators")
        case Self.teamBBackup: return BackupObject(id: id, repository: "local", machine: "db", ownerGroup: "team-b")
        case Self.clashBackup: return BackupObject(id: id, repository: "local", machine: "clash", ownerGroup: "hypervisor-operators")
        default: return nil
        }
    }

    func perform(_ request: BackupRequest, caller: Peer) async throws(HVError) -> any ResourceReply {
        await note("\(request.operation.rawValue) \(request.target) uid=\(caller.uid)")
        if case .jobs = request { return Self.jobs }
        if case .runJob = request, let run = Self.jobs.jobs[0].lastRun { return BackupRunJobReply(run: run) }
        return EmptyReply()
    }

    /// Job "nightly", whose last run backed up "web" (hypervisor-operators), failed on "db-b"
    /// (team-b, deleted since) and on "foreign" (a domain the broker did not make).
    static let jobs = BackupJobsReply(jobs: [
        BackupJobInfo(
            name: "nightly", repository: "local", schedule: "*-*-* 02:00", names: ["web", "db-b", "foreign"], tags: [], all: false,
            verify: "weekly", retention: BackupRetention(keepLast: 3), nextRun: 1_800_000_000, nextRunReason: nil, due: false,
            running: false,
            lastRun: BackupJobRun(
                job: "nightly", started: 1_799_990_000, ended: 1_799_990_100,
                machines: [
                    BackupJobMachineOutcome(machine: "db-b", group: "team-b", ok: false, error: "gone", code: "NotFound"),
                    BackupJobMachineOutcome(machine: "foreign", ok: false, error: "unmanaged", code: "InvalidState"),
                    BackupJobMachineOutcome(machine: "web", group: "hypervisor-operators", ok: true, backup: webBackup, bytesRead: 10, bytesStored: 5),
                ]
            )
        )
    ])
}

func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "hv-test-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func makeDispatcher(
    authorizer: FakeAuthorizer, hypervisor: FakeHypervisor = FakeHypervisor(), directory: String = temporaryDirectory()
) throws -> (Dispatcher, AuditLog) {
    // A clock that stands still: coalescing windows end only when the test flushes the log, however
    // slowly the machine runs it.
    var configuration = AuditConfiguration()
    configuration.clock = AuditClock { Date(timeIntervalSince1970: 1_800_000_000) }
    let audit = try AuditLog(path: directory + "/audit.jsonl", configuration: configuration, journal: false)
    let dispatcher = Dispatcher(hypervisor: hypervisor, authorizer: authorizer, audit: audit, logger: Logger(label: "test"))
    return (dispatcher, audit)
}

let testPeer = Peer(uid: 1000, gid: 1000, pid: 4242, startTime: 1, executable: "/usr/bin/hv")

func encodeCall(_ method: String, _ parameters: [String: JSONValue]? = nil, oneway: Bool? = nil) throws -> [UInt8] {
    var call = VarlinkCall(method: method, parameters: parameters)
    call.oneway = oneway
    return try VarlinkJSON.encode(call)
}

func decodeReply(_ bytes: [UInt8]?) throws -> VarlinkReply {
    try VarlinkJSON.decode(VarlinkReply.self, from: bytes ?? [])
}

/// The audit records written so far, once every record queued is written (a read's record is
/// queued without its reply waiting for it).
func auditRecords(_ log: AuditLog) async throws -> [AuditRecord] {
    await log.settle()
    let text = (try? String(contentsOfFile: log.path, encoding: .utf8)) ?? ""
    return try text.split(separator: "\n").map { try JSONDecoder().decode(AuditRecord.self, from: Data($0.utf8)) }
}
