/// One domain's record from `virConnectGetAllDomainStats`, in typed fields.
///
/// Fields libvirt did not report are nil: a stopped domain has no I/O counters, and a domain busy
/// in a job (with the NOWAIT flag) leaves out what that job holds.
public struct DomainStatistics: Sendable, Hashable {
    public struct Block: Sendable, Hashable {
        public var name: String
        public var capacity: Int64?
        public var allocation: Int64?
        public var readBytes: Int64?
        public var writtenBytes: Int64?
        public var readRequests: Int64?
        public var writeRequests: Int64?
    }

    public struct Interface: Sendable, Hashable {
        public var name: String
        public var receivedBytes: Int64
        public var transmittedBytes: Int64
        public var receivedPackets: Int64
        public var transmittedPackets: Int64
        public var receiveErrors: Int64
        public var transmitErrors: Int64
        public var receiveDrops: Int64
        public var transmitDrops: Int64
    }

    public var name: String
    public var uuid: String
    public var identity: DomainIdentity { DomainIdentity(name: name, uuid: uuid) }
    /// libvirt's state name, e.g. `running` or `shutoff` (see `DomainStateNames`).
    public var state: String
    /// The same state as `Domain.state()` names it, e.g. `shutting-down` where `state` says `shutdown`.
    public var domainState: Domain.State
    public var reason: String
    public var cpuTimeNs: Int64?
    public var balloonCurrentKiB: Int64?
    public var balloonMaximumKiB: Int64?
    public var rssKiB: Int64?
    public var usableKiB: Int64?
    public var vcpus: Int?
    public var blocks: [Block]
    public var interfaces: [Interface]

    /// Reads the fields from one record's parameters.
    public init(name: String, uuid: String, parameters: TypedParameters) {
        self.name = name
        self.uuid = uuid
        let stateValue = parameters.int64("state.state") ?? 0
        state = DomainStateNames.state(stateValue)
        domainState = Domain.State(Int32(clamping: stateValue))
        reason = DomainStateNames.reason(parameters.int64("state.reason") ?? 0, state: stateValue)
        cpuTimeNs = parameters.int64("cpu.time")
        balloonCurrentKiB = parameters.int64("balloon.current")
        balloonMaximumKiB = parameters.int64("balloon.maximum")
        rssKiB = parameters.int64("balloon.rss")
        usableKiB = parameters.int64("balloon.usable")
        vcpus = (parameters.int64("vcpu.current") ?? parameters.int64("vcpu.maximum")).map { Int($0) }

        let blockCount = Int(max(0, min(parameters.int64("block.count") ?? 0, 4096)))
        blocks = (0..<blockCount).compactMap { index in
            let prefix = "block.\(index)."
            guard let name = parameters.string(prefix + "name") else { return nil }
            return Block(
                name: name, capacity: parameters.int64(prefix + "capacity"),
                allocation: parameters.int64(prefix + "allocation") ?? parameters.int64(prefix + "physical"),
                readBytes: parameters.int64(prefix + "rd.bytes"), writtenBytes: parameters.int64(prefix + "wr.bytes"),
                readRequests: parameters.int64(prefix + "rd.reqs"), writeRequests: parameters.int64(prefix + "wr.reqs")
            )
        }

        let netCount = Int(max(0, min(parameters.int64("net.count") ?? 0, 4096)))
        interfaces = (0..<netCount).compactMap { index in
            let prefix = "net.\(index)."
            guard let name = parameters.string(prefix + "name") else { return nil }
            func counter(_ field: String) -> Int64 { parameters.int64(prefix + field) ?? 0 }
            return Interface(
                name: name, receivedBytes: counter("rx.bytes"), transmittedBytes: counter("tx.bytes"),
                receivedPackets: counter("rx.pkts"), transmittedPackets: counter("tx.pkts"),
                receiveErrors: counter("rx.errs"), transmitErrors: counter("tx.errs"),
                receiveDrops: counter("rx.drop"), transmitDrops: counter("tx.drop")
            )
        }
    }
}
