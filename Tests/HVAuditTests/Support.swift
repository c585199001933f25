import Foundation
import HVAudit
import Synchronization
import Testing

/// A log in a directory of its own, written with small segments so a few records seal several.
struct SegmentedLog {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hv-audit-\(UUID().uuidString)").path
    var path: String { directory + "/audit.jsonl" }
    var files: AuditFiles { AuditFiles(log: path) }

    /// Roughly ten records per segment.
    static let smallSegments = AuditConfiguration(segmentSize: 4096, compression: .none)

    func open(_ configuration: AuditConfiguration = smallSegments) throws -> AuditLog {
        try AuditLog(path: path, configuration: configuration, journal: false)
    }

    static func record(_ index: Int, uid: UInt32 = 1000, decision: String = "allowed") -> AuditRecord {
        AuditRecord(
            time: AuditRecord.timestamp(), uid: uid, gid: uid, pid: Int32(100 + index % 1000), executable: "/usr/bin/hv",
            method: "org.hypernixos.Vm.Start", action: "org.hypernixos.vm.start", target: "machine-\(index)", decision: decision,
            result: "ok", durationMs: 1.5
        )
    }

    /// Appends `count` records and returns the log.
    func write(_ count: Int, _ configuration: AuditConfiguration = smallSegments) async throws -> AuditLog {
        let log = try open(configuration)
        for index in 0..<count { try await log.append(Self.record(index)) }
        return log
    }

    func manifest() throws -> AuditManifest {
        try #require(try AuditManifest.load(files.manifest))
    }

    func lines(_ file: String) throws -> [String] {
        try String(contentsOfFile: files.path(file), encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func rewrite(_ file: String, _ lines: [String]) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: files.path(file), atomically: true, encoding: .utf8)
    }

    func records(_ file: String) throws -> [AuditRecord] {
        try lines(file).map { try JSONDecoder().decode(AuditRecord.self, from: Data($0.utf8)) }
    }

    func exists(_ file: String) -> Bool { FileManager.default.fileExists(atPath: files.path(file)) }

    func size(_ file: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: files.path(file))[.size] as? Int)
    }

    /// Writes `manifest` as a forger would: its hash recomputed, so it is consistent in itself.
    func forge(_ manifest: AuditManifest) throws {
        let forged = AuditManifest(retired: manifest.retired, segments: manifest.segments)
        let encoder = AuditChain.canonicalEncoder()
        try encoder.encode(forged).write(to: URL(fileURLWithPath: files.manifest))
    }
}

/// Runs a program and returns its standard output; fails the test when it exits non-zero.
@discardableResult
func run(_ arguments: [String], input: Data? = nil) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    let output = Pipe()
    process.standardOutput = output
    if let input {
        let pipe = Pipe()
        process.standardInput = pipe
        try process.run()
        pipe.fileHandleForWriting.write(input)
        try pipe.fileHandleForWriting.close()
    } else {
        try process.run()
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "\(arguments) exited with \(process.terminationStatus)")
    return data
}

/// A clock a test moves by hand, so segment ages and coalescing windows don't depend on how fast
/// the machine runs the test.
final class ManualClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))

    var audit: AuditClock { AuditClock { self.now } }

    var now: Date { current.withLock { $0 } }

    func advance(_ duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18) }
    }
}
