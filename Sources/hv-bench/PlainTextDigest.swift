import Foundation
import Glibc
import HVSystem

/// The yardstick for verifying the audit log: `gzip -dcf -- SEGMENTS | sha256sum`, the log's plain
/// text (gzip segments expanded, plain ones passed through, in the chain's order) hashed once by
/// the standard tools. The two are joined by a FIFO in the scratch directory; wall time runs from
/// starting both until both have ended, CPU time is theirs together (from `getrusage`).
struct PlainTextDigest: Codable, Sendable {
    var wallSeconds: Double
    var cpuSeconds: Double

    static func measure(_ files: [String], fifo: String) throws(BenchError) -> PlainTextDigest {
        let gzip = try ToolRun.program("gzip", fix: "install gzip")
        let sha256sum = try ToolRun.program("sha256sum", fix: "install coreutils")
        unlink(fifo)
        guard mkfifo(fifo, 0o600) == 0 else {
            throw BenchError(.measurementFailed, "cannot make the FIFO \(fifo): \(String(cString: strerror(errno)))")
        }
        defer { unlink(fifo) }
        // Held open for reading and writing while both start, so neither blocks in opening its end.
        let holder = open(fifo, O_RDWR | O_CLOEXEC)
        guard holder >= 0 else { throw BenchError(.measurementFailed, "cannot open \(fifo): \(String(cString: strerror(errno)))") }
        let cpuBefore = Timing.cpuSeconds(children: true)
        let started = Stopwatch.now()
        let hashing: ChildProcess
        do {
            hashing = try ChildProcess(
                Command(sha256sum, [], environment: Command.currentEnvironment, standardInput: .file(fifo), standardOutput: .capture, ownProcessGroup: false)
            )
        } catch {
            close(holder)
            throw BenchError(.measurementFailed, "cannot start \(sha256sum): \(error)")
        }
        let expanding = Result { () throws(SystemError) in
            try ChildProcess(
                Command(gzip, ["-dcf", "--"] + files, environment: Command.currentEnvironment, standardOutput: .file(fifo), ownProcessGroup: false)
            )
        }
        // From here only gzip writes: sha256sum reads to its end.
        close(holder)
        let expanded: ChildProcess.Termination
        let hashed: ChildProcess.Outcome
        do {
            expanded = try expanding.get().wait()
            hashed = try hashing.finish()
        } catch {
            _ = try? hashing.wait()
            throw BenchError(.measurementFailed, "\(gzip) -dcf | \(sha256sum) failed: \(error)")
        }
        let wall = Stopwatch.now() - started
        guard expanded == .exited(0), hashed.termination == .exited(0), hashed.standardOutput.bytes.count >= 64 else {
            throw BenchError(.measurementFailed, "\(gzip) -dcf ended with \(expanded), \(sha256sum) with \(hashed.termination)")
        }
        return PlainTextDigest(wallSeconds: Double(wall) / 1e9, cpuSeconds: Timing.cpuSeconds(children: true) - cpuBefore)
    }

    /// The plain-text length of a segment file: its size, or for a gzip file the length its
    /// trailer gives (exact below 4 GiB, which a segment never reaches).
    static func plainBytes(of path: String) -> Int {
        guard path.hasSuffix(".gz") else { return AuditBench.fileSize(path) ?? 0 }
        guard let handle = FileHandle(forReadingAtPath: path) else { return 0 }
        defer { try? handle.close() }
        guard let end = try? handle.seekToEnd(), end >= 4 else { return 0 }
        try? handle.seek(toOffset: end - 4)
        guard let trailer = try? handle.read(upToCount: 4), trailer.count == 4 else { return 0 }
        return trailer.reversed().reduce(0) { $0 << 8 | Int($1) }
    }
}
