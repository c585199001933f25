// `Host.Stats`' reply writes itself: at 1,000 machines it is 30,000 members, and writing them
// through `Encodable` (a tree of dictionaries, then sorted keys) was a quarter of the broker's
// CPU per call. Members are written in sorted order (`JSONWriter.member`): by their UTF-8 bytes,
// so `C` before `M` before `a`. `JSONWritableTests` compares each with the `Encodable` text.

extension HostStatsReply: JSONWritable {
    public func write(into writer: inout JSONWriter) throws(JSONWriter.NonFiniteNumber) {
        writer.openObject()
        try writer.member("domains", domains)
        try writer.member("networks", networks)
        try writer.member("pools", pools)
        writer.closeObject()
    }
}

extension DomainStats: JSONWritable {
    public func write(into writer: inout JSONWriter) throws(JSONWriter.NonFiniteNumber) {
        writer.openObject()
        writer.member("autostart", autostart)
        writer.member("cpuTimeNs", cpuTimeNs)
        try writer.member("disks", disks)
        try writer.member("interfaces", interfaces)
        writer.member("memoryCurrentKiB", memoryCurrentKiB)
        writer.member("memoryMaxKiB", memoryMaxKiB)
        writer.member("memoryRssKiB", memoryRssKiB)
        writer.member("memoryUsableKiB", memoryUsableKiB)
        writer.member("name", name)
        writer.member("state", state)
        writer.member("stateReason", stateReason)
        writer.member("uuid", uuid)
        writer.member("vcpus", vcpus)
        writer.closeObject()
    }
}

extension DiskStats: JSONWritable {
    public func write(into writer: inout JSONWriter) throws(JSONWriter.NonFiniteNumber) {
        writer.openObject()
        writer.member("allocationBytes", allocationBytes)
        writer.member("capacityBytes", capacityBytes)
        writer.member("readBytes", readBytes)
        writer.member("readRequests", readRequests)
        writer.member("target", target)
        writer.member("writeRequests", writeRequests)
        writer.member("writtenBytes", writtenBytes)
        writer.closeObject()
    }
}

extension InterfaceStats: JSONWritable {
    public func write(into writer: inout JSONWriter) throws(JSONWriter.NonFiniteNumber) {
        writer.openObject()
        writer.member("name", name)
        writer.member("receiveDrops", receiveDrops)
        writer.member("receiveErrors", receiveErrors)
        writer.member("receivedBytes", receivedBytes)
        writer.member("receivedPackets", receivedPackets)
        writer.member("transmitDrops", transmitDrops)
        writer.member("transmitErrors", transmitErrors)
        writer.member("transmittedBytes", transmittedBytes)
        writer.member("transmittedPackets", transmittedPackets)
        writer.closeObject()
    }
}

extension PoolStats: JSONWritable {
    public func write(into writer: inout JSONWriter) throws(JSONWriter.NonFiniteNumber) {
        writer.openObject()
        writer.member("active", active)
        writer.member("allocationBytes", allocationBytes)
        writer.member("availableBytes", availableBytes)
        writer.member("capacityBytes", capacityBytes)
        writer.member("name", name)
        writer.closeObject()
    }
}

extension NetworkStatus: JSONWritable {
    public func write(into writer: inout JSONWriter) throws(JSONWriter.NonFiniteNumber) {
        writer.openObject()
        writer.member("active", active)
        writer.member("autostart", autostart)
        writer.member("bridge", bridge)
        writer.member("name", name)
        writer.closeObject()
    }
}

// And reads itself, in the monitor (`JSONReadable`): nil sends the reply through `Decodable`.

extension HostStatsReply: JSONReadable {
    public init?(json members: [String: JSONValue]) {
        let json = JSONMembers(members)
        guard
            let domains = json.array("domains", of: DomainStats.self),
            let pools = json.array("pools", of: PoolStats.self),
            let networks = json.array("networks", of: NetworkStatus.self)
        else { return nil }
        self.init(domains: domains, pools: pools, networks: networks)
    }
}

extension DomainStats: JSONReadable {
    public init?(json members: [String: JSONValue]) {
        let json = JSONMembers(members)
        guard
            let name = json.string("name"), let uuid = json.string("uuid"), let state = json.string("state"),
            let stateReason = json.string("stateReason"), let autostart = json.bool("autostart"),
            let vcpus = json.int("vcpus"), let cpuTimeNs = json.optionalInt64("cpuTimeNs"),
            let memoryMaxKiB = json.int64("memoryMaxKiB"), let memoryCurrentKiB = json.optionalInt64("memoryCurrentKiB"),
            let memoryRssKiB = json.optionalInt64("memoryRssKiB"),
            let memoryUsableKiB = json.optionalInt64("memoryUsableKiB"),
            let disks = json.array("disks", of: DiskStats.self),
            let interfaces = json.array("interfaces", of: InterfaceStats.self)
        else { return nil }
        self.init(
            name: name, uuid: uuid, state: state, stateReason: stateReason, autostart: autostart, vcpus: vcpus,
            cpuTimeNs: cpuTimeNs, memoryMaxKiB: memoryMaxKiB, memoryCurrentKiB: memoryCurrentKiB,
            memoryRssKiB: memoryRssKiB, memoryUsableKiB: memoryUsableKiB, disks: disks, interfaces: interfaces)
    }
}

extension DiskStats: JSONReadable {
    public init?(json members: [String: JSONValue]) {
        let json = JSONMembers(members)
        guard
            let target = json.string("target"), let capacityBytes = json.optionalInt64("capacityBytes"),
            let allocationBytes = json.optionalInt64("allocationBytes"), let readBytes = json.optionalInt64("readBytes"),
            let writtenBytes = json.optionalInt64("writtenBytes"), let readRequests = json.optionalInt64("readRequests"),
            let writeRequests = json.optionalInt64("writeRequests")
        else { return nil }
        self.init(
            target: target, capacityBytes: capacityBytes, allocationBytes: allocationBytes, readBytes: readBytes,
            writtenBytes: writtenBytes, readRequests: readRequests, writeRequests: writeRequests)
    }
}

extension InterfaceStats: JSONReadable {
    public init?(json members: [String: JSONValue]) {
        let json = JSONMembers(members)
        guard
            let name = json.string("name"), let receivedBytes = json.int64("receivedBytes"),
            let transmittedBytes = json.int64("transmittedBytes"), let receivedPackets = json.int64("receivedPackets"),
            let transmittedPackets = json.int64("transmittedPackets"), let receiveErrors = json.int64("receiveErrors"),
            let transmitErrors = json.int64("transmitErrors"), let receiveDrops = json.int64("receiveDrops"),
            let transmitDrops = json.int64("transmitDrops")
        else { return nil }
        self.init(
            name: name, receivedBytes: receivedBytes, transmittedBytes: transmittedBytes,
            receivedPackets: receivedPackets, transmittedPackets: transmittedPackets, receiveErrors: receiveErrors,
            transmitErrors: transmitErrors, receiveDrops: receiveDrops, transmitDrops: transmitDrops)
    }
}

extension PoolStats: JSONReadable {
    public init?(json members: [String: JSONValue]) {
        let json = JSONMembers(members)
        guard
            let name = json.string("name"), let active = json.bool("active"),
            let capacityBytes = json.int64("capacityBytes"), let allocationBytes = json.int64("allocationBytes"),
            let availableBytes = json.int64("availableBytes")
        else { return nil }
        self.init(
            name: name, active: active, capacityBytes: capacityBytes, allocationBytes: allocationBytes,
            availableBytes: availableBytes)
    }
}

extension NetworkStatus: JSONReadable {
    public init?(json members: [String: JSONValue]) {
        let json = JSONMembers(members)
        guard
            let name = json.string("name"), let active = json.bool("active"), let autostart = json.bool("autostart"),
            let bridge = json.optionalString("bridge")
        else { return nil }
        self.init(name: name, active: active, autostart: autostart, bridge: bridge)
    }
}
