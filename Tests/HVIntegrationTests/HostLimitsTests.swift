import Foundation
import HVTestSupport
import Testing

/// A newcomer's first machines on a host with no policy file: what the host can never run is
/// refused when it is made, and a start the host lacks memory for says so and what to do.
extension ZeroTrustTests {
    /// No policy file: the limits follow this host (2 CPUs, 24 GiB here), so 1 TiB is refused
    /// when the machine is made, naming the limit and what the host has.
    @Test func withoutAPolicyFileAMachineTheHostCantRunIsRefused() throws {
        let stack = try Stack.shared.get()
        let broker = try MatrixBroker(stack: stack, name: "nopolicy", operations: [], policy: "")
        defer { _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"]) }
        #expect(!FileManager.default.fileExists(atPath: broker.base + "/policy.yaml"))

        let created = try broker.hv(stack, ["vm", "create", "hv-it-huge", "--memory", "1T", "--disk", "10G"], as: Stack.operatorUser)
        #expect(created.status == 6, "\(created)")
        #expect(created.stderr.contains("limits.memory"), "\(created)")
        #expect(created.stderr.contains("this host allows no more (the host's"), "\(created)")
        #expect(try broker.hv(stack, ["vm", "info", "hv-it-huge"], as: Stack.operatorUser).status == 3, "nothing was defined")

        let small = try broker.hv(stack, ["vm", "create", "hv-it-small", "--memory", "64M", "--disk", "1G"], as: Stack.operatorUser)
        #expect(small.status == 0, "a machine the host can run is made: \(small)")

        let log = try String(contentsOfFile: broker.base + "/broker.log", encoding: .utf8)
        #expect(log.contains("per-machine limits in force"), "\(log)")
        #expect(log.contains("none at \(broker.base)/policy.yaml"), "\(log)")
        #expect(log.contains("online CPUs"), "\(log)")
    }

    /// An administrator's policy may allow more than the host has; starting such a machine on
    /// real libvirt fails for memory, and `hv` says how much is free and what to do.
    @Test func aStartTheHostHasNoMemoryForSaysWhatToDo() throws {
        let stack = try Stack.shared.get()
        let name = "hv-it-bigmem"
        let broker = try MatrixBroker(
            stack: stack, name: "bigmem", operations: [], policy: "limits: {vcpus: 1, memory: 1TiB, disk: 8GiB}\n",
            libvirtUri: "qemu:///system"
        )
        defer {
            _ = try? broker.hv(stack, ["vm", "delete", name, "--remove-disks"], as: Stack.adminUser)
            _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"])
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "pool-destroy", "hv-it-bigmem"])
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "pool-undefine", "hv-it-bigmem"])
        }
        _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "undefine", name])

        // Far more than this host's memory and swap: QEMU can't even reserve it.
        let created = try broker.hv(stack, ["vm", "create", name, "--memory", "512G", "--disk", "1G"], as: Stack.operatorUser)
        try #require(created.status == 0, "\(created)")
        let started = try broker.hv(stack, ["vm", "start", name], as: Stack.operatorUser)
        #expect(started.status == 1, "\(started)")
        #expect(started.stderr.contains("'\(name)' could not start: the host has"), "\(started)")
        #expect(started.stderr.contains("of memory free; this machine needs 512 GiB"), "\(started)")
        #expect(started.stderr.contains("stop another machine"), "\(started)")
        #expect(started.stderr.contains("lower memory in its spec"), "\(started)")
        #expect(!started.stderr.contains("qemu unexpectedly closed"), "libvirt's words stay in the broker's log: \(started)")
    }
}
