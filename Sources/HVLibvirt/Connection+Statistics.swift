import CLibvirt
import Glibc

extension Connection {
    /// The groups of statistics `virConnectGetAllDomainStats` is asked for (`virDomainStatsTypes`).
    public struct StatisticsGroups: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// The state and its reason: all `Vm.List` needs.
        public static let state = StatisticsGroups(rawValue: VIR_DOMAIN_STATS_STATE.rawValue)
        public static let cpuTotal = StatisticsGroups(rawValue: VIR_DOMAIN_STATS_CPU_TOTAL.rawValue)
        public static let balloon = StatisticsGroups(rawValue: VIR_DOMAIN_STATS_BALLOON.rawValue)
        public static let vcpu = StatisticsGroups(rawValue: VIR_DOMAIN_STATS_VCPU.rawValue)
        public static let interface = StatisticsGroups(rawValue: VIR_DOMAIN_STATS_INTERFACE.rawValue)
        public static let block = StatisticsGroups(rawValue: VIR_DOMAIN_STATS_BLOCK.rawValue)
        /// What the monitor exports: state, CPU time, balloon, vCPUs, interfaces and block devices.
        public static let monitoring: StatisticsGroups = [.state, .cpuTotal, .balloon, .vcpu, .interface, .block]
    }

    /// Statistics for every defined or running domain from one `virConnectGetAllDomainStats` call.
    ///
    /// Asks for `groups` with the NOWAIT flag, so a domain busy in a job (backup, migration) is
    /// reported without what the job holds instead of stalling the call. When the vCPU or balloon
    /// group is asked for, drivers that leave out the configured vCPUs or maximum memory (the test
    /// driver does) get them from `virDomainGetInfo`, one call per such domain.
    public func allDomainStatistics(_ groups: StatisticsGroups = .monitoring) throws(LibvirtError) -> [DomainStatistics] {
        let flags = VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT.rawValue
        var records: UnsafeMutablePointer<virDomainStatsRecordPtr?>?
        let count = try Call.status("reading domain statistics") {
            virConnectGetAllDomainStats(pointer, groups.rawValue, &records, flags)
        }
        guard let records else { return [] }
        defer { virDomainStatsRecordListFree(records) }
        let completeSizes = !groups.isDisjoint(with: [.vcpu, .balloon])
        var result: [DomainStatistics] = []
        result.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            guard let record = records[index], let domain = record.pointee.dom else { continue }
            let identity = DomainIdentity(domain)
            var statistics = DomainStatistics(
                name: identity.name, uuid: identity.uuid,
                parameters: TypedParameters(copying: record.pointee.params, count: record.pointee.nparams)
            )
            if completeSizes, statistics.vcpus == nil || statistics.balloonMaximumKiB == nil {
                var info = virDomainInfo()
                if virDomainGetInfo(domain, &info) == 0 {
                    statistics.vcpus = statistics.vcpus ?? Int(info.nrVirtCpu)
                    statistics.balloonMaximumKiB = statistics.balloonMaximumKiB ?? Int64(clamping: UInt64(info.maxMem))
                    if statistics.cpuTimeNs == nil, DomainStateNames.isActive(statistics.state) {
                        statistics.cpuTimeNs = Int64(clamping: info.cpuTime)
                    }
                }
            }
            result.append(statistics)
        }
        return result
    }

    /// Which domains `virConnectListAllDomains` returns for a filter.
    public struct DomainFilter: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let active = DomainFilter(rawValue: VIR_CONNECT_LIST_DOMAINS_ACTIVE.rawValue)
        public static let inactive = DomainFilter(rawValue: VIR_CONNECT_LIST_DOMAINS_INACTIVE.rawValue)
        public static let autostart = DomainFilter(rawValue: VIR_CONNECT_LIST_DOMAINS_AUTOSTART.rawValue)
    }

    /// The names of the domains matching a filter, from one `virConnectListAllDomains` call.
    public func domainNames(_ filter: DomainFilter) throws(LibvirtError) -> Set<String> {
        Set(try domainIdentities(filter).map(\.name))
    }

    /// The names and UUIDs of the domains matching a filter, from one `virConnectListAllDomains`
    /// call; both are read from the objects it returns, without further calls.
    public func domainIdentities(_ filter: DomainFilter) throws(LibvirtError) -> [DomainIdentity] {
        var list: UnsafeMutablePointer<virDomainPtr?>?
        let count = try Call.status("listing domains") { virConnectListAllDomains(pointer, &list, filter.rawValue) }
        guard let list else { return [] }
        defer { free(list) }
        var identities: [DomainIdentity] = []
        identities.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            guard let domain = list[index] else { continue }
            identities.append(DomainIdentity(domain))
            virDomainFree(domain)
        }
        return identities
    }

    /// Every defined or active storage pool.
    public func storagePools() throws(LibvirtError) -> [StoragePool] {
        var list: UnsafeMutablePointer<virStoragePoolPtr?>?
        let count = try Call.status("listing storage pools") { virConnectListAllStoragePools(pointer, &list, 0) }
        guard let list else { return [] }
        defer { free(list) }
        return (0..<Int(count)).compactMap { index in list[index].map(StoragePool.init(owning:)) }
    }

    /// Every defined or active virtual network.
    public func networks() throws(LibvirtError) -> [Network] {
        var list: UnsafeMutablePointer<virNetworkPtr?>?
        let count = try Call.status("listing networks") { virConnectListAllNetworks(pointer, &list, 0) }
        guard let list else { return [] }
        defer { free(list) }
        return (0..<Int(count)).compactMap { index in list[index].map(Network.init(owning:)) }
    }
}
