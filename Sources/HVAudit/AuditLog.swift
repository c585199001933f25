import Foundation
import HVSystem
import Synchronization

/// Appends hash-chained records to a JSON Lines file and mirrors them to the journal.
///
/// Records are written with one `write(2)` on an `O_APPEND` descriptor, one at a time. After each
/// append the head (last sequence number and hash) is rewritten in place beside the log with one
/// fixed-size `pwrite(2)`, so a truncated log is detectable too.
public final class AuditLog: Sendable {
    public let path: String
    public var headPath: String { path + ".head" }
    private let state: Mutex<State>
    private let journal: Bool
    /// What was wrong with the log when it was opened, such as records removed from its end
    /// while no broker ran; the broker records it as the first entry of its run.
    public let startupProblem: String?

    struct State {
        var descriptor: Descriptor
        var headDescriptor: Descriptor
        var head: AuditChain.Head
        let encoder: JSONEncoder
    }

    /// The head file's fixed size: a short JSON object padded with spaces.
    static let headSize = 128

    /// Opens (creating if needed) the log, continuing the chain from its last record.
    public init(path: String, journal: Bool = Journal.isAvailable) throws {
        self.path = path
        self.journal = journal
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let descriptor: Descriptor
        let headDescriptor: Descriptor
        do {
            descriptor = try Descriptor.open(path, O_WRONLY | O_APPEND | O_CREAT, mode: 0o640)
        } catch {
            throw AuditError(reason: "cannot open audit log \(path): \(error.reason)")
        }
        do {
            headDescriptor = try Descriptor.open(path + ".head", O_RDWR | O_CREAT, mode: 0o640)
        } catch {
            throw AuditError(reason: error.description)
        }
        let encoder = AuditChain.canonicalEncoder()
        let contents = FileManager.default.contents(atPath: path) ?? Data()
        if let last = contents.last, last != UInt8(ascii: "\n") {
            // A line torn by a crash: end it, so the next record starts on its own line.
            _ = try? descriptor.writeAll([UInt8(ascii: "\n")])
        }
        let head = Self.lastHead(contents)
        let stored = Self.readHead(logPath: path)
        if let stored, stored.seq != 0, stored != head {
            startupProblem = "the audit log ends at record \(head.seq) but the broker last wrote record \(stored.seq) "
                + "(hash \(stored.hash.prefix(12))): the log was changed while no broker ran"
        } else {
            startupProblem = nil
        }
        state = Mutex(State(descriptor: descriptor, headDescriptor: headDescriptor, head: head, encoder: encoder))
    }

    /// Links the record into the chain and writes it. Returns the record as written.
    @discardableResult
    public func append(_ record: AuditRecord) throws -> AuditRecord {
        let written = try state.withLock { state in
            var record = record
            record.seq = state.head.seq + 1
            record.prev = state.head.hash
            record.hash = AuditChain.hash(of: record, encoder: state.encoder)
            var line = Array(try state.encoder.encode(record))
            line.append(UInt8(ascii: "\n"))
            // One write(2), so a record is never interleaved with another or left half written.
            let count: Int
            do throws(SystemError) {
                count = try state.descriptor.write(line)
            } catch {
                throw AuditError(reason: "cannot append to audit log \(path): \(error.reason)")
            }
            guard count == line.count else {
                throw AuditError(reason: "cannot append to audit log \(path): only \(count) of \(line.count) bytes were written")
            }
            state.head = AuditChain.Head(seq: record.seq, hash: record.hash)
            try writeHead(state)
            return record
        }
        if journal { Journal.send(written) }
        return written
    }

    /// Verifies the log on disk against the head this writer holds.
    public func verify() -> AuditChain.Verification {
        // Read outside the lock, so appends go on meanwhile; the chain must contain this head.
        let head = state.withLock { $0.head }
        let contents = FileManager.default.contents(atPath: path) ?? Data()
        return AuditChain.verify(contents: contents, head: head.seq == 0 ? nil : head)
    }

    private func writeHead(_ state: State) throws {
        var bytes = Array(try state.encoder.encode(state.head))
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: max(0, Self.headSize - 1 - bytes.count)) + [UInt8(ascii: "\n")]
        do {
            try state.headDescriptor.writeAll(bytes, at: 0)
        } catch {
            throw AuditError(reason: error.description)
        }
    }

    /// The chain position to continue from: the last parseable record, or the start.
    static func lastHead(_ contents: Data) -> AuditChain.Head {
        let lines = contents.split(separator: UInt8(ascii: "\n"))
        guard let last = lines.last else { return AuditChain.Head(seq: 0, hash: AuditChain.genesis) }
        guard let record = try? JSONDecoder().decode(AuditRecord.self, from: Data(last)) else {
            return AuditChain.Head(seq: lines.count, hash: AuditChain.genesis)
        }
        return AuditChain.Head(seq: record.seq, hash: record.hash)
    }

    /// Reads the head file written beside a log, if there is one.
    public static func readHead(logPath: String) -> AuditChain.Head? {
        guard let data = FileManager.default.contents(atPath: logPath + ".head") else { return nil }
        return try? JSONDecoder().decode(AuditChain.Head.self, from: data)
    }
}

public struct AuditError: Error, Hashable, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
