import HVLibvirt
import HVProtocol
import HVWork
import Synchronization

extension LibvirtHypervisor {
    /// Every machine's statistics from one bulk call, with the records kept between calls for
    /// which machines are the broker's and which start with the host.
    public func stats(includeForeign: Bool) async throws(HVError) -> HostStatsReply {
        try await run { connection in
            let statistics = try connection.allDomainStatistics()
            let entries = try self.cachedRecords(of: statistics.map(\.identity), connection)
            let flagged = try connection.domainNames(.autostart)
            var domains: [DomainStats] = []
            domains.reserveCapacity(statistics.count)
            for (statistic, entry) in zip(statistics, entries) where includeForeign || entry.record != nil {
                domains.append(DomainStats(statistic, autostart: entry.autostart != nil || flagged.contains(statistic.name)))
            }
            domains.sort { $0.name < $1.name }
            // A pool or network that can't be read must not blank every VM's metrics.
            return HostStatsReply(
                domains: domains, pools: (try? self.pools(connection)) ?? [],
                networks: (try? self.networks(connection)) ?? []
            )
        }
    }

    public func healthFacts() async -> HealthFacts {
        let kvm = (try? await pools.libvirt.run { _ in self.kvmStatus() })
            ?? KvmStatus(usable: false, reason: "the broker is shutting down")
        struct Answer: Sendable {
            var latency: Duration
            var version: String
            var pools: [PoolStats]?
            var networks: [NetworkStatus]?
            var stopped: [String]?
        }
        do {
            let answer = try await run { connection in
                let start = ContinuousClock.now
                let version = try connection.libraryVersion()
                let latency = ContinuousClock.now - start
                return Answer(
                    latency: latency, version: version, pools: try? self.pools(connection),
                    networks: try? self.networks(connection),
                    stopped: try? self.stoppedAutostartMachines(connection)
                )
            }
            let known = lastKnown.withLock { $0 }
            return HealthFacts(
                libvirt: .reachable(latency: answer.latency, version: answer.version), kvm: kvm, pools: answer.pools,
                networks: answer.networks, stoppedAutostartMachines: answer.stopped, lastKnownPools: known.pools,
                lastKnownNetworks: known.networks
            )
        } catch {
            let known = lastKnown.withLock { $0 }
            return HealthFacts(
                libvirt: .unreachable(reason: error.reason), kvm: kvm, pools: nil, networks: nil,
                stoppedAutostartMachines: nil, lastKnownPools: known.pools, lastKnownNetworks: known.networks
            )
        }
    }

    /// Machines that start with the host but are not running, by name.
    func stoppedAutostartMachines(_ connection: Connection) throws -> [String] {
        let stopped = try connection.domainIdentities(.inactive)
        let flagged = try connection.domainNames(.autostart)
        return zip(stopped, try cachedRecords(of: stopped, connection))
            .filter { domain, entry in entry.autostart != nil || flagged.contains(domain.name) }
            .map(\.0.name).sorted()
    }

    /// Every storage pool's space; a pool removed while being read is left out.
    func pools(_ connection: Connection) throws(LibvirtError) -> [PoolStats] {
        var result: [PoolStats] = []
        for pool in try connection.storagePools() {
            do {
                let info = try pool.info()
                result.append(
                    PoolStats(
                        name: pool.name, active: pool.isActive, capacityBytes: Int64(clamping: info.capacity),
                        allocationBytes: Int64(clamping: info.allocation), availableBytes: Int64(clamping: info.available)
                    )
                )
            } catch where error.isNoStoragePool {
                continue
            }
        }
        result.sort { $0.name < $1.name }
        lastKnown.withLock { $0.pools = result.map(\.name) }
        return result
    }

    /// Every virtual network's state; a network removed while being read is left out.
    func networks(_ connection: Connection) throws(LibvirtError) -> [NetworkStatus] {
        var result: [NetworkStatus] = []
        for network in try connection.networks() {
            do {
                result.append(
                    NetworkStatus(
                        name: network.name, active: try network.isActive(), autostart: try network.autostart(),
                        bridge: network.bridgeName()
                    )
                )
            } catch where error.isNoNetwork {
                continue
            }
        }
        result.sort { $0.name < $1.name }
        lastKnown.withLock { $0.networks = result.map(\.name) }
        return result
    }
}

extension DomainStats {
    /// A libvirt record in wire form. A stopped machine keeps its state, configured sizes and disk
    /// sizes; its live counters are nil.
    init(_ statistics: DomainStatistics, autostart: Bool) {
        let active = DomainStateNames.isActive(statistics.state)
        self.init(
            name: statistics.name, uuid: statistics.uuid, state: statistics.state, stateReason: statistics.reason,
            autostart: autostart, vcpus: statistics.vcpus ?? 0, cpuTimeNs: active ? statistics.cpuTimeNs : nil,
            memoryMaxKiB: statistics.balloonMaximumKiB ?? 0,
            memoryCurrentKiB: active ? statistics.balloonCurrentKiB : nil,
            memoryRssKiB: active ? statistics.rssKiB : nil, memoryUsableKiB: active ? statistics.usableKiB : nil,
            disks: statistics.blocks.map { block in
                DiskStats(
                    target: block.name, capacityBytes: block.capacity, allocationBytes: block.allocation,
                    readBytes: active ? block.readBytes : nil, writtenBytes: active ? block.writtenBytes : nil,
                    readRequests: active ? block.readRequests : nil, writeRequests: active ? block.writeRequests : nil
                )
            },
            interfaces: active ? statistics.interfaces.map { interface in
                InterfaceStats(
                    name: interface.name, receivedBytes: interface.receivedBytes,
                    transmittedBytes: interface.transmittedBytes, receivedPackets: interface.receivedPackets,
                    transmittedPackets: interface.transmittedPackets, receiveErrors: interface.receiveErrors,
                    transmitErrors: interface.transmitErrors, receiveDrops: interface.receiveDrops,
                    transmitDrops: interface.transmitDrops
                )
            } : []
        )
    }
}
