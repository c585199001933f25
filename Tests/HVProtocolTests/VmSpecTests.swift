import HVProtocol
import Testing

@Suite struct VmSpecTests {
    func spec(name: String = "web-1", vcpus: Int = 2, memoryMiB: Int = 1024, diskGiB: Int = 10, iso: String? = nil) -> VmSpec {
        VmSpec(name: name, vcpus: vcpus, memoryMiB: memoryMiB, diskGiB: diskGiB, iso: iso)
    }

    @Test(arguments: ["a", "web-1", "db_2.prod", "A9", String(repeating: "x", count: 64)])
    func validNames(name: String) throws {
        try VmName.validate(name)
    }

    @Test(arguments: [
        "", "../x", "a b", "<x>", "-lead", ".hidden", "_x", "a/b", "a\u{0}b", "name;rm", "$(id)", "é",
        String(repeating: "x", count: 65),
    ])
    func invalidNames(name: String) {
        let error = #expect(throws: HVError.self) { try VmName.validate(name) }
        #expect(error?.code == .invalidSpec)
        #expect(error?.details["field"] == "name")
        #expect(error?.fix != nil)
    }

    @Test func tooLongNameSaysHowLong() {
        let error = #expect(throws: HVError.self) { try VmName.validate(String(repeating: "x", count: 65)) }
        #expect(error?.reason.contains("65 characters") == true)
    }

    @Test(arguments: [
        ("vcpus", VmSpec(name: "a", vcpus: 0, memoryMiB: 512, diskGiB: 1)),
        ("vcpus", VmSpec(name: "a", vcpus: 65, memoryMiB: 512, diskGiB: 1)),
        ("memoryMiB", VmSpec(name: "a", vcpus: 1, memoryMiB: 63, diskGiB: 1)),
        ("memoryMiB", VmSpec(name: "a", vcpus: 1, memoryMiB: -512, diskGiB: 1)),
        ("diskGiB", VmSpec(name: "a", vcpus: 1, memoryMiB: 512, diskGiB: 0)),
        ("diskGiB", VmSpec(name: "a", vcpus: 1, memoryMiB: 512, diskGiB: Int.max)),
        ("iso", VmSpec(name: "a", vcpus: 1, memoryMiB: 512, diskGiB: 1, iso: "../../etc/shadow")),
        ("iso", VmSpec(name: "a", vcpus: 1, memoryMiB: 512, diskGiB: 1, iso: "/srv/x.iso")),
        ("iso", VmSpec(name: "a", vcpus: 1, memoryMiB: 512, diskGiB: 1, iso: "debian.img")),
    ])
    func outOfRangeFieldsAreNamed(field: String, spec: VmSpec) {
        let error = #expect(throws: HVError.self) { try spec.validate() }
        #expect(error?.details["field"] == field)
        #expect(error?.reason.hasPrefix(field + ":") == true)
    }

    static func sized(memoryMiB: Int = 512, diskGiB: Int = 1) -> VmSpec {
        VmSpec(name: "a", vcpus: 1, memoryMiB: memoryMiB, diskGiB: diskGiB)
    }

    /// `hv vm create x --disk 999999T` said "got 1023998976".
    @Test(arguments: [
        (sized(diskGiB: 999_999 * 1024), "diskGiB: must be between 1 GiB and 16 TiB, got 999999 TiB"),
        (sized(diskGiB: 20 * 1024 + 512), "diskGiB: must be between 1 GiB and 16 TiB, got 20.5 TiB"),
        (sized(memoryMiB: 32), "memoryMiB: must be between 64 MiB and 1 TiB, got 32 MiB"),
        (sized(memoryMiB: 3 << 20), "memoryMiB: must be between 64 MiB and 1 TiB, got 3 TiB"),
        (sized(diskGiB: Int.max), "diskGiB: must be between 1 GiB and 16 TiB, got \(Int.max) GiB"),
        (sized(memoryMiB: -512), "memoryMiB: must be between 64 MiB and 1 TiB, got -512 MiB"),
        (VmSpec(name: "a", vcpus: 65, memoryMiB: 512, diskGiB: 1), "vcpus: must be between 1 and 64, got 65"),
    ])
    func sizesInErrorsAreReadable(spec: VmSpec, reason: String) {
        let error = #expect(throws: HVError.self) { try spec.validate() }
        #expect(error?.reason == reason)
    }

    /// A snapshot name follows the machine-name rule, but a bad one is not called a machine name.
    @Test(arguments: ["a b", "-s1", "", "../s1", String(repeating: "s", count: 65)])
    func badSnapshotNamesAreCalledSnapshotNames(name: String) {
        let error = #expect(throws: HVError.self) { try SnapshotName.validate(name) }
        #expect(error?.code == .invalidSpec)
        #expect(error?.details["field"] == "name")
        #expect(error?.reason.contains("is not a valid snapshot name") == true, "\(String(describing: error))")
        #expect(error?.reason.contains("machine") == false)
    }

    @Test func goodSnapshotNamesPass() throws {
        try SnapshotName.validate("before-upgrade.2024_01")
    }

    @Test func validSpecPasses() throws {
        try spec(iso: "debian-12.5.0-amd64-netinst.iso").validate()
    }
}
