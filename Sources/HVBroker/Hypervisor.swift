import HVProtocol
import HVServer
import HVSystem

/// A typed reply of a resource method, encoded only at the socket.
public typealias ResourceReply = Encodable & Sendable

/// What the broker does once a request is authorized. The libvirt implementation is
/// `LibvirtHypervisor`; tests substitute their own.
public protocol Hypervisor: Sendable {
    func hostInfo() async throws(HVError) -> HostInfo
    /// Every machine the broker manages, and with `includeForeign` every other domain too.
    func list(includeForeign: Bool) async throws(HVError) -> [VmSummary]
    func info(_ name: String) async throws(HVError) -> VmDetails
    /// A new machine from the flags of `hv vm create`, made exactly as a spec would be (limits,
    /// quotas, charged to the caller's group).
    func create(_ spec: VmSpec, caller: Peer) async throws(HVError) -> VmDetails
    func start(_ name: String) async throws(HVError)
    func shutdown(_ name: String) async throws(HVError)
    func reboot(_ name: String) async throws(HVError)
    func kill(_ name: String) async throws(HVError)
    /// Returns the file names of the removed disk images.
    func delete(_ name: String, removeDisks: Bool) async throws(HVError) -> [String]
    func readConsole(_ name: String, maxBytes: Int) async throws(HVError) -> VmConsoleReply
    /// Every machine's statistics (one bulk call), storage pools and networks.
    func stats(includeForeign: Bool) async throws(HVError) -> HostStatsReply
    /// What the health checks need from libvirt and the host; never throws: an unreachable
    /// libvirtd is itself a fact.
    func healthFacts() async -> HealthFacts
    /// The machine a name refers to, for admission; nil when no domain has that name.
    func resolve(machine name: String) async throws(HVError) -> MachineObject?
    /// The machine whose disk the volume is (managed or not); nil for a volume no machine uses.
    func resolve(volume name: String, pool: String?) async throws(HVError) -> MachineObject?
    /// The group an imported template (`Image.Import`) is charged to; nil for any other volume.
    func importedGroup(ofVolume name: String, pool: String?) async throws(HVError) -> String?
    /// The group a machine this caller makes is charged to.
    func chargeGroup(for caller: Peer) async throws(HVError) -> String
    /// Storage, networks, ISO library, snapshots, templates and clones; returns the reply's parameters.
    func perform(_ request: ResourceRequest, caller: Peer) async throws(HVError) -> any ResourceReply
    /// The backup `id` in the repository named (the only one when nil), for admission: the machine
    /// it is of and its group, from the record the backup keeps; nil when there is no such backup.
    /// A repository that is not configured is an error naming those that are.
    func resolve(backup id: String, repository: String?) async throws(HVError) -> BackupObject?
    /// Backups: create, list, show, verify, restore and delete; returns the reply.
    func perform(_ request: BackupRequest, caller: Peer) async throws(HVError) -> any ResourceReply
    /// Machine lifecycle events from now on, until the caller stops reading.
    func follow() async throws(HVError) -> AsyncStream<VmEvent>
    /// Adds the image behind `descriptor` (the caller's open file) to the ISO library.
    func isoAdd(_ parameters: IsoAddParameters, descriptor: Descriptor, caller: Peer) async throws(HVError) -> IsoInfo
    /// Brings the disk image behind `descriptor` (the caller's open file) into the image pool as a
    /// template charged to `group`.
    func imageImport(
        _ parameters: ImageImportParameters, group: String, descriptor: Descriptor, caller: Peer
    ) async throws(HVError) -> ImportedImageInfo
    /// Attaches to a running machine's serial console; `force` ends a session that holds it.
    func openConsole(_ name: String, force: Bool) async throws(HVError) -> ConsoleAttachment
    /// A new connection to a running machine's display.
    func openGraphics(_ name: String) async throws(HVError) -> DisplayConnection
    /// A running machine's screen as a PNG file.
    func screenshot(_ name: String) async throws(HVError) -> VmScreenshotReply
}
