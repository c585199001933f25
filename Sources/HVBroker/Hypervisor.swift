import HVProtocol
import HVServer

/// What the broker does once a request is authorized. The libvirt implementation is
/// `LibvirtHypervisor`; tests substitute their own.
public protocol Hypervisor: Sendable {
    func hostInfo() async throws(HVError) -> HostInfo
    func list() async throws(HVError) -> [VmSummary]
    func info(_ name: String) async throws(HVError) -> VmDetails
    func create(_ spec: VmSpec) async throws(HVError) -> VmDetails
    func start(_ name: String) async throws(HVError)
    func shutdown(_ name: String) async throws(HVError)
    func reboot(_ name: String) async throws(HVError)
    func kill(_ name: String) async throws(HVError)
    /// Returns the file names of the removed disk images.
    func delete(_ name: String, removeDisks: Bool) async throws(HVError) -> [String]
    func readConsole(_ name: String, maxBytes: Int) async throws(HVError) -> VmConsoleReply
    /// Every machine's statistics (one bulk call), storage pools and networks.
    func stats() async throws(HVError) -> HostStatsReply
    /// What the health checks need from libvirt and the host; never throws: an unreachable
    /// libvirtd is itself a fact.
    func healthFacts() async -> HealthFacts
    /// Storage, networks, ISO library, snapshots, templates and clones; returns the reply's parameters.
    func perform(_ request: ResourceRequest, caller: Peer) async throws(HVError) -> [String: JSONValue]
    /// Machine lifecycle events from now on, until the caller stops reading.
    func follow() async throws(HVError) -> AsyncStream<VmEvent>
    /// Adds the image behind `descriptor` (the caller's open file) to the ISO library.
    func isoAdd(_ parameters: IsoAddParameters, descriptor: Int32, caller: Peer) async throws(HVError) -> IsoInfo
}
