import Foundation
import HVBroker
import HVProtocol
import HVServer
import HVSystem
import HVTestSupport
import Logging
import Testing

/// `Image.Import` through the broker's libvirt code on the test driver, with the real qemu-img:
/// an imported template counts toward its group's `images` total, a refused import keeps nothing,
/// and the journal record of each import is gone once it is over.
@Suite(
    .serialized, .enabled(if: TestDriverCheck.available, "libvirt's test driver (test:///default) can't be opened"),
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-img"), "qemu-img is not installed (qemu-utils)")
)
struct ImageImportBrokerTests {
    let directory = temporaryDirectory()
    var state: String { directory + "/state" }

    func hypervisor() throws -> LibvirtHypervisor {
        let policy = HostPolicy(groups: ["lab": HostPolicy.GroupQuota(images: .mebibytes(2))])
        return LibvirtHypervisor(
            uri: "test://" + (try TestDriverNode.write(TestDriverNode.xml(), in: directory)),
            layout: StorageLayout(stateDirectory: state, consoleDirectory: directory + "/console"), policy: policy,
            pools: BulkTests.pools, logger: Logger(label: "test")
        )
    }

    /// A 64 MiB qcow2 holding `data` bytes of random data, and its SHA-256.
    func image(_ name: String, data: Int) throws -> (path: String, sha256: String) {
        let raw = directory + "/" + name + ".raw"
        var generator = SystemRandomNumberGenerator()
        try Data((0..<data).map { _ in generator.next() as UInt8 }).write(to: URL(fileURLWithPath: raw))
        guard truncate(raw, 64 << 20) == 0 else { throw SetupError("cannot grow \(raw)") }
        let path = directory + "/" + name + ".qcow2"
        let converted = try run(["/usr/bin/qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw, path])
        guard converted.status == 0 else { throw SetupError("qemu-img convert: \(converted)") }
        let digest = try run(["/usr/bin/sha256sum", path])
        return (path, String(digest.stdout.prefix(64)))
    }

    func importing(_ hypervisor: LibvirtHypervisor, _ image: (path: String, sha256: String), as name: String) async throws -> ImportedImageInfo {
        let file = try Descriptor.open(image.path, O_RDONLY)
        return try await hypervisor.imageImport(
            ImageImportParameters(name: name, sha256: image.sha256, format: "qcow2"), group: "lab", descriptor: file,
            caller: MachineSpecBrokerTests.caller
        )
    }

    func pending() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: state + "/pending")
    }

    @Test func anImportedTemplateCountsTowardItsGroupsImages() async throws {
        let hypervisor = try hypervisor()
        let first = try await importing(hypervisor, try image("first", data: 1 << 20), as: "cloud")
        #expect(first.group == "lab" && first.pool == StorageLayout.defaultPoolName && first.sourceFormat == "qcow2")
        #expect(first.virtualSize == .mebibytes(64) && first.allocated.bytes >= 1 << 20)
        #expect(try pending().isEmpty, "the journal record is gone")

        let refused = await #expect(throws: HVError.self) {
            try await importing(hypervisor, try image("second", data: 1 << 20), as: "cloud-2")
        }
        #expect(refused?.code == .quotaExceeded && refused?.details["limit"] == "groups.lab.images", "\(String(describing: refused))")
        #expect(refused?.reason.contains("group 'lab' may store 2 MiB of images; its images take 1.") == true, "\(String(describing: refused))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: state + "/images").sorted() == ["cloud"])
        #expect(try pending().isEmpty)
    }

    @Test func aChecksumMismatchKeepsNothingAndEndsItsJournalRecord() async throws {
        let hypervisor = try hypervisor()
        var image = try image("first", data: 4096)
        image.sha256 = String(repeating: "0", count: 64)
        let refused = await #expect(throws: HVError.self) { try await importing(hypervisor, image, as: "cloud") }
        #expect(refused?.code == .invalidParameter && refused?.reason.contains("was expected; nothing was kept") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: state + "/images").isEmpty)
        #expect(try pending().isEmpty)
    }
}
