import CLibvirt
import Glibc

extension Connection {
    /// Statistics for every defined or running domain from one `virConnectGetAllDomainStats` call.
    ///
    /// Asks for state, CPU time, balloon, vCPUs, interfaces and block devices with the NOWAIT flag,
    /// so a domain busy in a job (backup, migration) is reported without what the job holds instead
    /// of stalling the call. Drivers that leave out the configured vCPUs or maximum memory (the test
    /// driver does) get them from `virDomainGetInfo`, one call per such domain.
    public func allDomainStatistics() throws(LibvirtError) -> [DomainStatistics] {
        let groups = VIR_DOMAIN_STATS_STATE.rawValue | VIR_DOMAIN_STATS_CPU_TOTAL.rawValue
            | VIR_DOMAIN_STATS_BALLOON.rawValue | VIR_DOMAIN_STATS_VCPU.rawValue
            | VIR_DOMAIN_STATS_INTERFACE.rawValue | VIR_DOMAIN_STATS_BLOCK.rawValue
        let flags = VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT.rawValue
        var records: UnsafeMutablePointer<virDomainStatsRecordPtr?>?
        let count = try Call.status("reading domain statistics") {
            virConnectGetAllDomainStats(pointer, groups, &records, flags)
        }
        guard let records else { return [] }
        defer { virDomainStatsRecordListFree(records) }
        var result: [DomainStatistics] = []
        result.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            guard let record = records[index], let domain = record.pointee.dom else { continue }
            let name = virDomainGetName(domain).map { String(cString: $0) } ?? ""
            var uuid = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
            _ = virDomainGetUUIDString(domain, &uuid)
            var statistics = DomainStatistics(
                name: name,
                uuid: String(decoding: uuid.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self),
                parameters: TypedParameters(copying: record.pointee.params, count: record.pointee.nparams)
            )
            if statistics.vcpus == nil || statistics.balloonMaximumKiB == nil {
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
        var list: UnsafeMutablePointer<virDomainPtr?>?
        let count = try Call.status("listing domains") { virConnectListAllDomains(pointer, &list, filter.rawValue) }
        guard let list else { return [] }
        defer { free(list) }
        var names: Set<String> = []
        for index in 0..<Int(count) {
            guard let domain = list[index] else { continue }
            if let name = virDomainGetName(domain) { names.insert(String(cString: name)) }
            virDomainFree(domain)
        }
        return names
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
