@testable import HVBroker
@testable import HVLibvirt
import HVProtocol
import Testing

/// A start the host has too little for is told as the resource and the fix, not libvirt's words.
struct StartShortageTests {
    /// What libvirt 9 over qemu:///system answers, word for word, when a TCG guest of 64 GiB is
    /// started on a 24 GiB host without swap.
    static let memoryRefusal = LibvirtError(
        code: 1, domain: 10,
        message: "internal error: qemu unexpectedly closed the monitor: 2026-12-05T21:40:08.480612Z qemu-system-x86_64: "
            + "cannot set up guest memory 'pc.ram': Cannot allocate memory"
    )

    static func host(available: String = "3250585 kB", hugepagesFree: Int = 100) throws -> HostHardware {
        let fake = try FakeHost(hugepages: 512)
        try fake.write(
            "proc/meminfo",
            "MemTotal:       24000000 kB\nMemAvailable:   \(available)\nHugePages_Total:     512\nHugePages_Free:      \(hugepagesFree)\nHugepagesize:       2048 kB\n"
        )
        return HostHardware(root: fake.root)
    }

    @Test func memoryTheHostCantGiveNamesWhatItHasAndWhatToDo() throws {
        let shortage = try #require(StartShortage(Self.memoryRefusal, hugepages: false))
        #expect(shortage.resource == .memory)
        let error = shortage.error(
            machine: "web", memory: .gibibytes(8), hardware: try Self.host(), imageDirectory: "/var/lib/hypervisor/images",
            libvirt: Self.memoryRefusal
        )
        #expect(error.code == .failed)
        #expect(error.reason == "'web' could not start: the host has 3.1 GiB of memory free; this machine needs 8 GiB")
        #expect(error.fix?.contains("stop another machine") == true)
        #expect(error.fix?.contains("lower memory in its spec") == true)
        #expect(error.details["resource"] == "memory")
        #expect(error.details["libvirt"] == Self.memoryRefusal.message)
    }

    @Test func hugepagesRunningOutNamesThePages() throws {
        let refusal = LibvirtError(
            code: 1, domain: 10,
            message: "internal error: qemu unexpectedly closed the monitor: qemu-system-x86_64: unable to map backing store for guest RAM: Cannot allocate memory"
        )
        let shortage = try #require(StartShortage(refusal, hugepages: true))
        #expect(shortage.resource == .hugepages)
        #expect(StartShortage(refusal, hugepages: false)?.resource == .memory, "without hugepages it is plain memory")
        let error = shortage.error(
            machine: "db", memory: .gibibytes(1), hardware: try Self.host(), imageDirectory: "/var/lib/hypervisor/images", libvirt: refusal
        )
        #expect(error.reason.contains("the host has 100 free hugepages of 2 MiB (200 MiB)"), "\(error)")
        #expect(error.reason.contains("needs 1 GiB of hugepages (512 pages)"), "\(error)")
        #expect(error.fix?.contains("vm.nr_hugepages") == true)
    }

    @Test func aFullDiskNamesTheFreeSpace() throws {
        let refusal = LibvirtError(code: 38, domain: 10, message: "cannot write to '/var/lib/hypervisor/images/a.fd': No space left on device")
        let shortage = try #require(StartShortage(refusal, hugepages: false))
        #expect(shortage.resource == .diskSpace)
        let error = shortage.error(machine: "a", memory: .gibibytes(1), hardware: try Self.host(), imageDirectory: "/var/lib/hypervisor/images", libvirt: refusal)
        #expect(error.reason.hasPrefix("'a' could not start: the host's disk is full ("), "\(error)")
        #expect(error.details["resource"] == "disk space")
    }

    @Test(arguments: [
        "Requested operation is not valid: domain is already running",
        "internal error: process exited while connecting to monitor: qemu-system-x86_64: -drive file=/x: Could not open '/x': Permission denied",
    ])
    func otherFailuresAreLeftAsTheyAre(message: String) {
        #expect(StartShortage(LibvirtError(code: 1, domain: 10, message: message), hugepages: true) == nil)
    }
}
