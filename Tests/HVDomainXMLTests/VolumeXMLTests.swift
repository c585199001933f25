import Foundation
import FoundationXML
import HVDomainXML
import HVProtocol
import Testing

@Suite struct VolumeXMLTests {
    @Test func qcow2VolumeStatesItsFormatAndSizeInBytes() throws {
        let document = try parsed(try VolumeXML.qcow2(name: "web1-root.qcow2", capacity: .gibibytes(20)))
        #expect(try document.values("/volume/name") == ["web1-root.qcow2"])
        #expect(try document.values("/volume/capacity") == ["21474836480"])
        #expect(try document.values("/volume/capacity/@unit") == ["bytes"])
        #expect(try document.values("/volume/target/format/@type") == ["qcow2"])
        #expect(try document.values("/volume/backingStore").isEmpty)
        #expect(try document.values("/volume/allocation").isEmpty, "libvirt's default")
        #expect(try document.values("/volume/target/compat") == ["1.1"], "version 3: it keeps checkpoints' bitmaps")
    }

    @Test func rawVolume() throws {
        let document = try parsed(
            try VolumeXML.raw(name: "scratch.raw", capacity: ByteSize(bytes: 1_536 * 1024 * 1024))
        )
        #expect(try document.values("/volume/target/format/@type") == ["raw"])
        #expect(try document.values("/volume/capacity") == ["1610612736"])
        #expect(try document.values("/volume/allocation") == ["0"], "sparse: libvirt allocates nothing")
        #expect(try document.values("/volume/target/compat").isEmpty)
    }

    @Test(arguments: ImageFormat.allCases) func overlayNamesItsBackingImageAndFormat(backing: ImageFormat) throws {
        let xml = try VolumeXML.overlay(
            name: "web1-root.qcow2", capacity: .gibibytes(20),
            backingPath: "/var/lib/hypervisor/images/debian-12.\(backing.rawValue)", backingFormat: backing
        )
        let document = try parsed(xml)
        #expect(try document.values("/volume/target/format/@type") == ["qcow2"])
        #expect(
            try document.values("/volume/backingStore/path") == [
                "/var/lib/hypervisor/images/debian-12.\(backing.rawValue)"
            ])
        #expect(try document.values("/volume/backingStore/format/@type") == [backing.rawValue])
    }

    /// A path with markup characters is still one path: it can't add elements.
    @Test func metacharactersInAPathStayText() throws {
        let path = #"/var/lib/hypervisor/images/a</path><path>/etc/shadow</path>&"'.qcow2"#
        let document = try parsed(
            try VolumeXML.overlay(name: "o.qcow2", capacity: .gibibytes(1), backingPath: path, backingFormat: .qcow2)
        )
        #expect(try document.values("/volume/backingStore/path") == [path])
        #expect(try document.nodes(forXPath: "//path").count == 1)
    }

    @Test(arguments: [
        ("name", "../web1.qcow2"), ("name", "a/b.qcow2"), ("name", ""), ("name", ".hidden"), ("name", "x y"),
    ])
    func refusesBadVolumeNames(field: String, name: String) {
        let error = #expect(throws: HVError.self) { try VolumeXML.qcow2(name: name, capacity: .gibibytes(1)) }
        #expect(error?.code == .invalidParameter)
        #expect(error?.details["parameter"] == field)
    }

    @Test func refusesAnEmptyVolumeAndARelativeBackingPath() {
        let empty = ByteSize(bytes: 0)
        let qcow2 = #expect(throws: HVError.self) { try VolumeXML.qcow2(name: "a.qcow2", capacity: empty) }
        #expect(qcow2?.details["parameter"] == "capacity")
        let raw = #expect(throws: HVError.self) { try VolumeXML.raw(name: "a.raw", capacity: empty) }
        #expect(raw?.details["parameter"] == "capacity")
        for path in ["debian-12.qcow2", "/var/lib/../../etc/shadow", "/images/a\u{0}b"] {
            let error = #expect(throws: HVError.self) {
                try VolumeXML.overlay(
                    name: "a.qcow2", capacity: .gibibytes(1), backingPath: path, backingFormat: .qcow2
                )
            }
            #expect(error?.details["parameter"] == "backing_path")
        }
    }

    @Test func directoryPool() throws {
        let document = try parsed(try PoolXML.directory(name: "hypervisor-images", path: "/var/lib/hypervisor/images"))
        #expect(try document.values("/pool/@type") == ["dir"])
        #expect(try document.values("/pool/name") == ["hypervisor-images"])
        #expect(try document.values("/pool/target/path") == ["/var/lib/hypervisor/images"])
        let badPath = #expect(throws: HVError.self) { try PoolXML.directory(name: "p", path: "images") }
        #expect(badPath?.details["parameter"] == "path")
        let badName = #expect(throws: HVError.self) { try PoolXML.directory(name: "p/q", path: "/images") }
        #expect(badName?.details["parameter"] == "name")
    }
}
