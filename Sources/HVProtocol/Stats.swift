/// One domain's statistics from a single bulk libvirt call (`virConnectGetAllDomainStats`).
///
/// Counters are cumulative since the domain started. A stopped domain still reports its state and
/// configured sizes; the live counters are then nil. A domain busy in a job (backup, migration) is
/// reported without the fields that job holds rather than stalling the whole call.
public struct DomainStats: Codable, Sendable, Hashable {
    public var name: String
    public var uuid: String
    /// `running`, `paused`, `shutoff`, `crashed`, `blocked`, `shutdown`, `pmsuspended` or `nostate`.
    public var state: String
    /// libvirt's reason for the state, e.g. `booted`, `destroyed`, `crashed`, `shutdown`, `failed`.
    public var stateReason: String
    public var autostart: Bool
    public var vcpus: Int
    /// Total CPU time the guest used, in nanoseconds.
    public var cpuTimeNs: Int64?
    /// The configured maximum memory, in KiB.
    public var memoryMaxKiB: Int64
    /// The balloon's current size, in KiB.
    public var memoryCurrentKiB: Int64?
    /// Resident set size of the QEMU process, in KiB.
    public var memoryRssKiB: Int64?
    /// Memory the guest reports as usable (balloon driver), in KiB.
    public var memoryUsableKiB: Int64?
    public var disks: [DiskStats]
    public var interfaces: [InterfaceStats]

    public init(
        name: String, uuid: String, state: String, stateReason: String, autostart: Bool, vcpus: Int,
        cpuTimeNs: Int64?, memoryMaxKiB: Int64, memoryCurrentKiB: Int64?, memoryRssKiB: Int64?,
        memoryUsableKiB: Int64?, disks: [DiskStats], interfaces: [InterfaceStats]
    ) {
        self.name = name
        self.uuid = uuid
        self.state = state
        self.stateReason = stateReason
        self.autostart = autostart
        self.vcpus = vcpus
        self.cpuTimeNs = cpuTimeNs
        self.memoryMaxKiB = memoryMaxKiB
        self.memoryCurrentKiB = memoryCurrentKiB
        self.memoryRssKiB = memoryRssKiB
        self.memoryUsableKiB = memoryUsableKiB
        self.disks = disks
        self.interfaces = interfaces
    }
}

public struct DiskStats: Codable, Sendable, Hashable {
    /// The guest device, e.g. `vda`.
    public var target: String
    /// Virtual size of the image, in bytes.
    public var capacityBytes: Int64?
    /// Bytes the image occupies on the host.
    public var allocationBytes: Int64?
    public var readBytes: Int64?
    public var writtenBytes: Int64?
    public var readRequests: Int64?
    public var writeRequests: Int64?

    public init(
        target: String, capacityBytes: Int64? = nil, allocationBytes: Int64? = nil, readBytes: Int64? = nil,
        writtenBytes: Int64? = nil, readRequests: Int64? = nil, writeRequests: Int64? = nil
    ) {
        self.target = target
        self.capacityBytes = capacityBytes
        self.allocationBytes = allocationBytes
        self.readBytes = readBytes
        self.writtenBytes = writtenBytes
        self.readRequests = readRequests
        self.writeRequests = writeRequests
    }
}

public struct InterfaceStats: Codable, Sendable, Hashable {
    /// The host-side device name, e.g. `vnet0`.
    public var name: String
    public var receivedBytes: Int64
    public var transmittedBytes: Int64
    public var receivedPackets: Int64
    public var transmittedPackets: Int64
    public var receiveErrors: Int64
    public var transmitErrors: Int64
    public var receiveDrops: Int64
    public var transmitDrops: Int64

    public init(
        name: String, receivedBytes: Int64, transmittedBytes: Int64, receivedPackets: Int64,
        transmittedPackets: Int64, receiveErrors: Int64, transmitErrors: Int64, receiveDrops: Int64,
        transmitDrops: Int64
    ) {
        self.name = name
        self.receivedBytes = receivedBytes
        self.transmittedBytes = transmittedBytes
        self.receivedPackets = receivedPackets
        self.transmittedPackets = transmittedPackets
        self.receiveErrors = receiveErrors
        self.transmitErrors = transmitErrors
        self.receiveDrops = receiveDrops
        self.transmitDrops = transmitDrops
    }
}

/// A libvirt storage pool's space.
public struct PoolStats: Codable, Sendable, Hashable {
    public var name: String
    public var active: Bool
    public var capacityBytes: Int64
    public var allocationBytes: Int64
    public var availableBytes: Int64

    public init(name: String, active: Bool, capacityBytes: Int64, allocationBytes: Int64, availableBytes: Int64) {
        self.name = name
        self.active = active
        self.capacityBytes = capacityBytes
        self.allocationBytes = allocationBytes
        self.availableBytes = availableBytes
    }
}

/// A libvirt virtual network's state.
public struct NetworkStatus: Codable, Sendable, Hashable {
    public var name: String
    public var active: Bool
    public var autostart: Bool
    /// The host bridge the network uses, when it has one.
    public var bridge: String?

    public init(name: String, active: Bool, autostart: Bool, bridge: String?) {
        self.name = name
        self.active = active
        self.autostart = autostart
        self.bridge = bridge
    }
}

/// `org.hypernixos.Host.Stats`'s reply: everything the monitor needs from libvirt in one round trip.
public struct HostStatsReply: Codable, Sendable, Hashable {
    public var domains: [DomainStats]
    public var pools: [PoolStats]
    public var networks: [NetworkStatus]

    public init(domains: [DomainStats], pools: [PoolStats], networks: [NetworkStatus]) {
        self.domains = domains
        self.pools = pools
        self.networks = networks
    }
}
