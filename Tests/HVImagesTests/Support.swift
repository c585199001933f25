import Foundation
import Glibc
import HVImages
import HVSystem
import HVTestSupport

/// A private temporary directory, removed with everything in it when released.
final class TemporaryDirectory {
    let path: String

    init(_ label: String = "hv-images") throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        chmod(path, 0o700)
    }

    /// The names in the directory, hidden ones included, sorted.
    func names() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to `name` and returns its path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: file(name)))
        return file(name)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Whether a program is in the directories the broker searches.
func installed(_ tool: Tool) -> Bool { ToolLocator().find(tool) != nil }

/// Runs a program (absolute path) and fails the test setup if it does not exit 0.
@discardableResult
func mustRun(_ arguments: [String], environment: [String: String] = [:]) throws -> Output {
    let output = try run(arguments, environment: environment)
    guard output.status == 0 else { throw SetupError("\(arguments.joined(separator: " ")) failed: \(output)") }
    return output
}

/// The SHA-256 of a file as `sha256sum` computes it, independently of the code under test.
func sha256sum(_ path: String) throws -> String {
    String(try mustRun(["/usr/bin/sha256sum", path]).stdout.prefix(64))
}

/// Opens `path` read-only for a test.
func openForReading(_ path: String) throws -> Descriptor {
    try Descriptor.open(path, O_RDONLY)
}

/// Some bytes that differ from test to test.
func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in generator.next() }
}
