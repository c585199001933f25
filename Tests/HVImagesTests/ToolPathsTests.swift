import Foundation
import Glibc
import HVImages
import Testing

/// Programs given by path (`hv-broker --tool NAME=PATH`, what the NixOS module passes) are used
/// as given, and only when nobody but root can change them.
struct ToolPathsTests {
    /// Root-owned here (the tests run as root in CI); the current user's files count as root's
    /// when they run unprivileged.
    static let trusted: Set<uid_t> = [0, getuid()]

    /// A directory holding an executable `name`, mode 0755 in a 0755 directory.
    static func program(_ directory: TemporaryDirectory, _ name: String = "qemu-img") throws -> String {
        chmod(directory.path, 0o755)
        let path = try directory.write(name, Array("#!/bin/sh\n".utf8))
        chmod(path, 0o755)
        return path
    }

    @Test func aGivenPathIsUsedAndNeverSearched() throws {
        let directory = try TemporaryDirectory()
        let path = try Self.program(directory)
        let locator = try ToolLocator.configured(["qemu-img=\(path)"], trustedOwners: Self.trusted)
        #expect(locator.configured == ["qemu-img": path])
        #expect(try locator.locate(.qemuImg) == path)
        #expect(locator.directories == ToolLocator.standardDirectories, "programs not given are still searched for")

        try FileManager.default.removeItem(atPath: path)
        let error = #expect(throws: ImageError.self) { try locator.locate(.qemuImg) }
        #expect(error?.code == .toolMissing)
        #expect(error?.reason.contains(path) == true)
        #expect(error?.fix?.contains("services.hypernixos.tools") == true)
    }

    @Test func noOptionsKeepTheSearch() throws {
        #expect(try ToolLocator.configured([]) == ToolLocator())
    }

    @Test(arguments: [
        ("qemu-img", "write it as NAME=PATH"),
        ("bash=/bin/bash", "the broker runs no program called 'bash'"),
        ("qemu-img=relative/qemu-img", "not an absolute path"),
        ("qemu-img=/nonexistent/qemu-img", "cannot be resolved"),
        ("gpgv=/etc/passwd", "not an executable regular file"),
        ("gpgv=/usr/bin", "not an executable regular file"),
    ])
    func malformedOrMissingPathsAreRefused(argument: String, reason: String) {
        let error = #expect(throws: ImageError.self) { try ToolLocator.configured([argument], trustedOwners: Self.trusted) }
        #expect(error?.code == .invalidParameter)
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }

    @Test func aToolGivenTwiceIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = try Self.program(directory)
        #expect(throws: ImageError.self) { try ToolLocator.configured(["qemu-img=\(path)", "qemu-img=\(path)"], trustedOwners: Self.trusted) }
    }

    @Test func aProgramOthersCanChangeIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = try Self.program(directory)

        chmod(path, 0o775)
        #expect(throws: ImageError.self) { try ToolLocator.configured(["qemu-img=\(path)"], trustedOwners: Self.trusted) }
        chmod(path, 0o755)

        chmod(directory.path, 0o757)
        let error = #expect(throws: ImageError.self) { try ToolLocator.configured(["qemu-img=\(path)"], trustedOwners: Self.trusted) }
        #expect(error?.reason.contains("\(directory.path) is writable by its group or by others") == true, "\(String(describing: error))")
        chmod(directory.path, 0o755)

        // A link others could repoint: checked as given, not only where it leads.
        let links = try TemporaryDirectory()
        chmod(links.path, 0o777)
        let link = links.file("qemu-img")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        #expect(throws: ImageError.self) { try ToolLocator.configured(["qemu-img=\(link)"], trustedOwners: Self.trusted) }
        chmod(links.path, 0o755)
        #expect(try ToolLocator.configured(["qemu-img=\(link)"], trustedOwners: Self.trusted).configured["qemu-img"] == link)

        #expect(try ToolLocator.configured(["qemu-img=\(path)"], trustedOwners: Self.trusted).configured["qemu-img"] == path)
    }

    @Test(.enabled(if: getuid() == 0, "changing a file's owner needs root"))
    func aProgramNotOwnedByRootIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = try Self.program(directory)
        #expect(chown(path, 65534, 65534) == 0)
        let error = #expect(throws: ImageError.self) { try ToolLocator.configured(["qemu-img=\(path)"]) }
        #expect(error?.reason.contains("owned by uid 65534, not by root") == true, "\(String(describing: error))")
    }

    @Test func aStickyDirectoryLikeTheNixStoreIsAllowed() throws {
        let store = try TemporaryDirectory()
        chmod(store.path, 0o1775)
        let package = store.file("0000-qemu-utils")
        try FileManager.default.createDirectory(atPath: package + "/bin", withIntermediateDirectories: true)
        chmod(package, 0o555)
        let path = package + "/bin/qemu-img"
        try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o555)
        chmod(package + "/bin", 0o555)
        defer { chmod(package, 0o755); chmod(package + "/bin", 0o755) }
        #expect(try ToolLocator.configured(["qemu-img=\(path)"], trustedOwners: Self.trusted).configured["qemu-img"] == path)
    }
}
