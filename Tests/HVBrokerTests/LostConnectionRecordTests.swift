import Foundation
@testable import HVBroker
import HVDomainXML
import HVLibvirt
import HVTestSupport
import Logging
import Testing

/// A machine's record read over a connection to libvirt that is lost meanwhile: the read fails
/// saying so, and the machine is never taken for one without a record (foreign, which an operator
/// is told does not exist, and which no quota or host feature counts). Runs against the real
/// libvirtd (root, HV_INTEGRATION=1), through a relay that cuts the connection on demand.
@Suite(.enabled(if: SystemLibvirt.reachable, "needs root, HV_INTEGRATION=1 and libvirtd's socket /run/libvirt/libvirt-sock"))
struct LostConnectionRecordTests {

    @Test func aRecordUnreadableBecauseTheConnectionWasLostIsThatFailure() throws {
        let directory = try TemporaryDirectory("hv-lost")
        defer { try? FileManager.default.removeItem(atPath: directory.path) }
        let relay = try SocketRelay(to: SystemLibvirt.socket, at: directory.file("libvirt.sock"))
        let direct = try Connection(uri: "qemu:///system")
        let name = "hv-test-lost-record-\(getpid())"
        let plain = name + "-plain"
        let metadata = """
            <metadata><hv:machine xmlns:hv='\(MachineMetadata.namespace)'><hv:spec>{}</hv:spec>\
            <hv:owner uid='0' group='root'/><hv:template>false</hv:template><hv:tags/></hv:machine></metadata>
            """
        for (domain, extra) in [(name, metadata), (plain, "")] {
            _ = try direct.defineDomain(xml: """
                <domain type='qemu'><name>\(domain)</name><memory unit='MiB'>64</memory>\(extra)\
                <os><type arch='x86_64'>hvm</type></os></domain>
                """)
        }
        defer {
            for domain in [name, plain] { try? direct.domain(named: domain)?.undefine(flags: []) }
        }
        let hypervisor = LibvirtHypervisor(
            uri: "qemu+unix:///system?socket=\(relay.path)",
            layout: StorageLayout(stateDirectory: directory.path, consoleDirectory: directory.path),
            pools: LibvirtStatsTests.pools, logger: Logger(label: "test")
        )
        let relayed = try Connection(uri: "qemu+unix:///system?socket=\(relay.path)")
        let machine = try #require(try relayed.domain(named: name))
        let other = try #require(try relayed.domain(named: plain))

        // While the connection holds: the record, and none for a domain without one.
        #expect(machine.connectionIsAlive)
        #expect(try hypervisor.record(of: machine)?.ownerGroup == "root")
        #expect(try hypervisor.record(of: other) == nil)
        #expect(try hypervisor.records(relayed).contains { $0.name == name && $0.record.ownerGroup == "root" })

        relay.cut()
        // The first call after the cut is the one that finds it; every read fails from then on.
        #expect(throws: LibvirtError.self) { try LibvirtHypervisor.anyRecord(of: machine) }
        #expect(!machine.connectionIsAlive)
        #expect(throws: LibvirtError.self) { try hypervisor.record(of: machine) }
        #expect(throws: LibvirtError.self) { try hypervisor.record(of: other) }
        // The domain is still there, with its record, for a connection that holds.
        #expect(try direct.domain(named: name).flatMap(LibvirtHypervisor.anyRecord(of:))?.ownerGroup == "root")
    }
}

/// The host's own libvirtd, which tests that define machines on it need.
enum SystemLibvirt {
    static let socket = "/run/libvirt/libvirt-sock"
    static let reachable = ProcessInfo.processInfo.environment["HV_INTEGRATION"] == "1" && getuid() == 0
        && FileManager.default.fileExists(atPath: socket)
}
