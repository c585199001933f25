import HVPolkit
import HVProtocol

/// What the broker's health checks are computed from, gathered in one pass over libvirt.
public struct HealthFacts: Sendable, Hashable {
    /// Whether libvirtd answered, and how.
    public enum Libvirt: Sendable, Hashable {
        case reachable(latency: Duration, version: String)
        case unreachable(reason: String)
    }

    public var libvirt: Libvirt
    public var kvm: KvmStatus
    /// Storage pools; nil when libvirt could not be asked.
    public var pools: [PoolStats]?
    /// Virtual networks; nil when libvirt could not be asked.
    public var networks: [NetworkStatus]?
    /// Machines marked autostart that are not running, by name; nil when libvirt could not be asked.
    public var stoppedAutostartMachines: [String]?
    /// Pools and networks seen while libvirt last answered, so their checks turn `unknown` rather
    /// than vanish while it does not.
    public var lastKnownPools: [String]
    public var lastKnownNetworks: [String]
    /// The polkitd that decides, as it reports itself; nil when it could not be asked.
    public var polkitBackend: PolkitBackend?

    public init(
        libvirt: Libvirt, kvm: KvmStatus, pools: [PoolStats]?, networks: [NetworkStatus]?,
        stoppedAutostartMachines: [String]?, lastKnownPools: [String] = [], lastKnownNetworks: [String] = [],
        polkitBackend: PolkitBackend? = nil
    ) {
        self.libvirt = libvirt
        self.kvm = kvm
        self.pools = pools
        self.networks = networks
        self.stoppedAutostartMachines = stoppedAutostartMachines
        self.lastKnownPools = lastKnownPools
        self.lastKnownNetworks = lastKnownNetworks
        self.polkitBackend = polkitBackend
    }
}
