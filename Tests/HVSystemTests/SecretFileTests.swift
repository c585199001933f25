import Foundation
import HVSystem
import HVTestSupport
import Testing

/// The one reader of files that hold a secret, for its two kinds: a file its owner alone reads and
/// one its group reads too.
@Suite struct SecretFileTests {
    static let shared = SecretFile(group: "hypervisor-viewers", creator: "scripts/setup.sh does")

    @Test func theContentsAreReadAndTheTextLosesItsLineBreaks() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("secret", "s3cret\r\n", mode: 0o600)
        #expect(try SecretFile().read(file, field: "f") == Array("s3cret\r\n".utf8))
        #expect(try SecretFile().readText(file, field: "f") == "s3cret")
        #expect(try Self.shared.readText(file, field: "f") == "s3cret")
        let groupReadable = try directory.write("shared", "s3cret\n", mode: 0o640)
        #expect(try Self.shared.readText(groupReadable, field: "f") == "s3cret")
        let readOnly = try directory.write("read-only", "s3cret", mode: 0o400)
        #expect(try SecretFile().readText(readOnly, field: "f") == "s3cret")
    }

    @Test(arguments: [0o640, 0o604, 0o660, 0o620, 0o610])
    func aFileOnlyItsOwnerMayReadRefusesAnyOtherAccess(mode: Int) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("secret", "s3cret", mode: mode_t(mode))
        let error = try #require(throws: SecretFileError.self) { try SecretFile().read(file, field: "f") }
        #expect(error.code == .insecure)
        let who = mode & 0o007 != 0 ? "others" : "its group"
        #expect(error.reason == "f: \(file) is open to \(who) (mode 0\(String(mode, radix: 8))); it holds a secret")
        #expect(error.fix == SecretFile().secureCommand(file))
    }

    @Test(arguments: [0o644, 0o604, 0o660, 0o666, 0o641, 0o620])
    func aFileItsGroupMayReadRefusesOthersAndGroupWrites(mode: Int) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("secret", "s3cret", mode: mode_t(mode))
        let error = try #require(throws: SecretFileError.self) { try Self.shared.read(file, field: "f") }
        #expect(error.code == .insecure)
        #expect(error.reason.hasPrefix("f: \(file) is open to"))
        #expect(error.fix == "chown root:hypervisor-viewers \(file) && chmod 0640 \(file)")
    }

    @Test func theFixNamesTheOwnerAndMode() {
        #expect(Self.shared.secureCommand("/p") == "chown root:hypervisor-viewers /p && chmod 0640 /p")
        let user = String(cString: getpwuid(geteuid()).pointee.pw_name)
        #expect(SecretFile().secureCommand("/p") == "chown \(user) /p && chmod 0600 /p")
    }

    @Test func missingNonRegularLargeAndNonTextFilesAreRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let absent = directory.file("absent")
        let missing = try #require(throws: SecretFileError.self) { try Self.shared.read(absent, field: "f") }
        #expect(missing.code == .unreadable)
        #expect(missing.reason == "f: \(absent) cannot be opened: No such file or directory")
        #expect(missing.fix == "create it (scripts/setup.sh does), then \(Self.shared.secureCommand(absent))")
        let ownerOnly = #expect(throws: SecretFileError.self) { try SecretFile().read(absent, field: "f") }
        #expect(ownerOnly?.fix == "create it, then \(SecretFile().secureCommand(absent))")

        let fifo = directory.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let fifoError = #expect(throws: SecretFileError.self) { try SecretFile().read(fifo, field: "f") }
        #expect(fifoError?.code == .insecure)
        #expect(fifoError?.reason == "f: \(fifo) is not a regular file")

        let large = try directory.write("large", String(repeating: "a", count: SecretFile.maximumBytes + 1))
        let largeError = #expect(throws: SecretFileError.self) { try SecretFile().read(large, field: "f") }
        #expect(largeError?.code == .invalid)
        let limit = try directory.write("limit", String(repeating: "a", count: SecretFile.maximumBytes))
        #expect(try SecretFile().read(limit, field: "f").count == SecretFile.maximumBytes)

        let binary = directory.file("binary")
        FileManager.default.createFile(atPath: binary, contents: Data([0x73, 0xFF, 0xFE]), attributes: [.posixPermissions: 0o600])
        #expect(try SecretFile().read(binary, field: "f") == [0x73, 0xFF, 0xFE])
        let binaryError = #expect(throws: SecretFileError.self) { try SecretFile().readText(binary, field: "f") }
        #expect(binaryError?.code == .invalid)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to give the file to another user"))
    func aFileOwnedByAnotherUserIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("secret", "s3cret", mode: 0o600)
        #expect(chown(file, 65_534, 0) == 0)
        for reader in [SecretFile(), Self.shared] {
            let error = #expect(throws: SecretFileError.self) { try reader.read(file, field: "f") }
            #expect(error?.code == .insecure)
            #expect(error?.reason.contains("is owned by uid 65534") == true)
        }
        #expect(chown(file, 0, 0) == 0)
        #expect(try SecretFile().readText(file, field: "f") == "s3cret")
    }
}
