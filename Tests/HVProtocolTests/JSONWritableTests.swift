import Foundation
@testable import HVProtocol
import Testing

/// Types that write their own JSON (`JSONWritable`) against the `Encodable` text of the same
/// value, which is Foundation's: byte for byte, with every optional both nil and set, strings that
/// need escaping, and the extremes of each integer.
@Suite struct JSONWritableTests {
    static func foundationText(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    static func writtenText(_ value: some JSONWritable) throws -> [UInt8] {
        var writer = JSONWriter()
        try value.write(into: &writer)
        return writer.bytes
    }

    static let awkwardStrings = [
        "", "web-1", "quote \" and backslash \\ and slash /", "line\nfeed\ttab\r\u{08}\u{0C}\u{01}\u{1F}",
        "ünïcødé ✓ 🚀", "\u{7F}\u{2028}",
    ]

    static let integers: [Int64] = [0, 1, -1, 9, 10, 99, 100, 1_234_567_890, Int64.max, Int64.min, Int64.min + 1]

    /// Domains that between them set and leave out every optional, and use every awkward string
    /// and integer.
    static var domains: [DomainStats] {
        var domains: [DomainStats] = []
        for (index, text) in awkwardStrings.enumerated() {
            let number = integers[index % integers.count]
            let some = index % 2 == 0
            domains.append(
                DomainStats(
                    name: text, uuid: "uuid-\(index)", state: "running", stateReason: text, autostart: some,
                    vcpus: Int(number % 1000), cpuTimeNs: some ? number : nil, memoryMaxKiB: number,
                    memoryCurrentKiB: some ? nil : number, memoryRssKiB: some ? number : nil,
                    memoryUsableKiB: some ? nil : -number,
                    disks: some
                        ? [
                            DiskStats(target: text),
                            DiskStats(
                                target: "vdb", capacityBytes: number, allocationBytes: 0, readBytes: Int64.max,
                                writtenBytes: Int64.min, readRequests: 1, writeRequests: number),
                        ] : [],
                    interfaces: some
                        ? []
                        : [
                            InterfaceStats(
                                name: text, receivedBytes: number, transmittedBytes: -number, receivedPackets: 0,
                                transmittedPackets: Int64.max, receiveErrors: 1, transmitErrors: 2, receiveDrops: 3,
                                transmitDrops: Int64.min)
                        ]
                ))
        }
        return domains
    }

    @Test func hostStatsIsWrittenAsFoundationEncodesIt() throws {
        let reply = HostStatsReply(
            domains: Self.domains,
            pools: Self.awkwardStrings.enumerated().map { index, text in
                PoolStats(
                    name: text, active: index % 2 == 0, capacityBytes: Self.integers[index], allocationBytes: -1,
                    availableBytes: Int64.max)
            },
            networks: Self.awkwardStrings.enumerated().map { index, text in
                NetworkStatus(name: text, active: index % 3 == 0, autostart: index % 2 == 1, bridge: index % 2 == 0 ? nil : text)
            }
        )
        let written = try Self.writtenText(reply)
        #expect(String(decoding: written, as: UTF8.self) == String(decoding: try Self.foundationText(reply), as: UTF8.self))
        #expect(written == (try VarlinkJSON.encode(reply)))
        #expect(try VarlinkJSON.decode(HostStatsReply.self, from: written) == reply)
    }

    @Test func anEmptyReplyIsWrittenAsFoundationEncodesIt() throws {
        let reply = HostStatsReply(domains: [], pools: [], networks: [])
        #expect(try Self.writtenText(reply) == (try Self.foundationText(reply)))
        #expect(String(decoding: try Self.writtenText(reply), as: UTF8.self) == #"{"domains":[],"networks":[],"pools":[]}"#)
    }

    /// `EncodedParameters` takes the writer's path for a writable value, and the result is the
    /// reply the `Encodable` path gave.
    @Test func encodedParametersUseTheWriter() throws {
        let reply = HostStatsReply(domains: Self.domains, pools: [], networks: [])
        #expect(try EncodedParameters(reply).bytes == (try Self.foundationText(reply)))
    }

    /// Every stored property is written: a property added to a type and not to its writer fails
    /// here, even one that is nil in every other test.
    @Test func everyPropertyIsWritten() throws {
        let disk = DiskStats(
            target: "vda", capacityBytes: 1, allocationBytes: 2, readBytes: 3, writtenBytes: 4, readRequests: 5,
            writeRequests: 6)
        let interface = InterfaceStats(
            name: "vnet0", receivedBytes: 1, transmittedBytes: 2, receivedPackets: 3, transmittedPackets: 4,
            receiveErrors: 5, transmitErrors: 6, receiveDrops: 7, transmitDrops: 8)
        let domain = DomainStats(
            name: "web1", uuid: "u", state: "running", stateReason: "booted", autostart: true, vcpus: 2, cpuTimeNs: 1,
            memoryMaxKiB: 2, memoryCurrentKiB: 3, memoryRssKiB: 4, memoryUsableKiB: 5, disks: [disk],
            interfaces: [interface])
        let pool = PoolStats(name: "default", active: true, capacityBytes: 1, allocationBytes: 2, availableBytes: 3)
        let network = NetworkStatus(name: "default", active: true, autostart: true, bridge: "virbr0")
        let reply = HostStatsReply(domains: [domain], pools: [pool], networks: [network])
        let values: [any JSONWritable] = [disk, interface, domain, pool, network, reply]
        try Self.expectEveryPropertyWritten(values)
    }

    /// `Vm.Info` and `Vm.List` replies, with every optional both nil and set and awkward strings.
    @Test func machineRepliesAreWrittenAsFoundationEncodesThem() throws {
        for (index, text) in Self.awkwardStrings.enumerated() {
            let some = index % 2 == 0
            let number = Self.integers[index]
            let details = VmDetails(
                name: text, uuid: "uuid-\(index)", state: text, vcpus: Int(number % 64), memoryMiB: Int(number), cpuTimeNs: number,
                domainType: "qemu", autostart: !some,
                disks: some ? [VmDisk(target: "vda", device: "disk", source: text), VmDisk(target: "sda", device: "cdrom", source: nil)] : [],
                autostartOrder: some ? Int(number) : nil,
                hostFeatures: some
                    ? HostFeatures(hugepages: true, cpuPins: [CpuPin(vcpu: 0, cpus: "2-3"), CpuPin(vcpu: 1, cpus: text)], pciDevices: [text], usbDevices: [])
                    : nil,
                tpm: index % 3 == 0 ? nil : some
            )
            let info = VmInfoReply(vm: details)
            #expect(String(decoding: try Self.writtenText(info), as: UTF8.self) == String(decoding: try Self.foundationText(info), as: UTF8.self))
            #expect(try EncodedParameters(info).bytes == (try VarlinkJSON.encode(info)))
            #expect(try VarlinkJSON.decode(VmInfoReply.self, from: try Self.writtenText(info)) == info)
        }
        let list = VmListReply(
            vms: Self.awkwardStrings.enumerated().map { index, text in
                VmSummary(name: text, state: "running", uuid: "u\(index)", tags: index % 2 == 0 ? [] : [text, "web"], template: index % 3 == 0, managed: index % 2 == 0)
            }
        )
        #expect(String(decoding: try Self.writtenText(list), as: UTF8.self) == String(decoding: try Self.foundationText(list), as: UTF8.self))
        #expect(try Self.writtenText(VmListReply(vms: [])) == Array(#"{"vms":[]}"#.utf8))
    }

    /// Every stored property of the machine replies is written.
    @Test func everyPropertyOfTheMachineRepliesIsWritten() throws {
        let pin = CpuPin(vcpu: 0, cpus: "1")
        let features = HostFeatures(hugepages: true, cpuPins: [pin], pciDevices: ["0000:01:00.0"], usbDevices: ["046d:c52b"])
        let disk = VmDisk(target: "vda", device: "disk", source: "web1-disk0.qcow2")
        let details = VmDetails(
            name: "web1", uuid: "u", state: "running", vcpus: 2, memoryMiB: 1024, cpuTimeNs: 5, domainType: "kvm", autostart: true,
            disks: [disk], autostartOrder: 1, hostFeatures: features, tpm: true
        )
        let summary = VmSummary(name: "web1", state: "running", uuid: "u", tags: ["a"], template: false, managed: true)
        let values: [any JSONWritable] = [pin, features, disk, details, VmInfoReply(vm: details), summary, VmListReply(vms: [summary])]
        try Self.expectEveryPropertyWritten(values)
    }

    /// Each value, set in every property, writes one member per stored property.
    static func expectEveryPropertyWritten(_ values: [any JSONWritable]) throws {
        for value in values {
            var writer = JSONWriter()
            try value.write(into: &writer)
            guard case .object(let members)? = JSONReader.read(writer.bytes) else {
                Issue.record("\(type(of: value)) wrote no object")
                continue
            }
            let properties = Set(Mirror(reflecting: value).children.compactMap(\.label))
            #expect(Set(members.keys) == properties, "\(type(of: value))")
        }
    }

    @Test func integersAreWrittenAsSwiftPrintsThem() {
        for number in Self.integers + (0..<2000).map({ Int64($0) - 1000 }) {
            var writer = JSONWriter()
            writer.write(integer: number)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == String(number))
        }
        var writer = JSONWriter()
        writer.write(integer: UInt64.max)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "18446744073709551615")
    }
}
