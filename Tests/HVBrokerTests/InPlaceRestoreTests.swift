import HVBroker
import HVProtocol
import Testing

/// Which disks a restore in place writes: those the backup and the machine both have, at the size
/// the backup recorded.
@Suite struct InPlaceRestoreTests {
    static let gib: UInt64 = 1 << 30
    static let backup = ["vda": 10 * gib, "vdb": 2 * gib]

    @Test func everyDiskOfTheBackupWhenNoneIsNamed() throws {
        #expect(try InPlaceRestore.select(nil, backup: Self.backup, machine: Self.backup) == ["vda", "vdb"])
    }

    @Test func onlyTheNamedDisks() throws {
        #expect(try InPlaceRestore.select(["vdb"], backup: Self.backup, machine: Self.backup) == ["vdb"])
    }

    @Test func aDiskTheBackupLacksIsRefusedNamingTheDisksItHas() throws {
        let error = try #require(throws: HVError.self) { try InPlaceRestore.select(["vdc"], backup: Self.backup, machine: Self.backup) }
        #expect(error.code == .invalidParameter)
        #expect(error.details["parameter"] == "disks")
        #expect(error.reason.contains("vdc"))
        #expect(error.fix?.hasSuffix("vda, vdb") == true, "\(error)")
    }

    @Test func aDiskTheMachineLacksIsRefused() throws {
        let error = try #require(throws: HVError.self) { try InPlaceRestore.select(nil, backup: Self.backup, machine: ["vda": 10 * Self.gib]) }
        #expect(error.code == .invalidState)
        #expect(error.details["name"] == "vdb")
    }

    /// A disk resized since the backup would leave the machine's definition untrue.
    @Test func aDiskOfAnotherSizeIsRefused() throws {
        let machine = ["vda": 20 * Self.gib, "vdb": 2 * Self.gib]
        let error = try #require(throws: HVError.self) { try InPlaceRestore.select(nil, backup: Self.backup, machine: machine) }
        #expect(error.code == .invalidState)
        #expect(error.details["name"] == "vda")
        #expect(try InPlaceRestore.select(["vdb"], backup: Self.backup, machine: machine) == ["vdb"])
    }

    @Test(arguments: [
        (String?("web"), String?.none, [String]?.none, "name"), (nil, "fast", nil, "pool"), (nil, nil, [], "disks"),
        (nil, nil, ["vda", "vda"], "disks"), (nil, nil, ["VDA"], "disks"), (nil, nil, ["v"], "disks"), (nil, nil, ["vd a"], "disks"),
    ])
    func invalidParametersAreNamed(name: String?, pool: String?, disks: [String]?, field: String) throws {
        let error = try #require(throws: HVError.self) { try InPlaceRestore.validate(name: name, pool: pool, disks: disks) }
        #expect(error.details["parameter"] == field)
    }

    @Test func validParametersPass() throws {
        try InPlaceRestore.validate(name: nil, pool: nil, disks: nil)
        try InPlaceRestore.validate(name: nil, pool: nil, disks: ["vda", "sdb", "nvme0n1"])
    }
}
