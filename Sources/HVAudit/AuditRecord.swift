import Foundation
import HVProtocol

/// One line of the audit log: who asked for what, what polkit said, and how it ended.
public struct AuditRecord: Codable, Sendable, Hashable {
    /// The `time` field's format: RFC 3339, UTC, milliseconds.
    public static func timestamp(_ date: Date = Date()) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Position in the chain, from 1.
    public var seq: Int
    /// RFC 3339 time the request arrived, UTC, milliseconds.
    public var time: String
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    public var executable: String
    public var method: String
    /// The polkit action the method mapped to; empty when it never got that far.
    public var action: String
    /// The machine or object the request named, if any.
    public var target: String
    /// `allowed`, `denied`, `refused` (by the host policy), `invalid` (rejected before authorization),
    /// `unavailable` (polkit down), `public` (introspection), `alert` (damage found at start) or
    /// `audit` (the log's own records: a new segment, a retired one).
    public var decision: String
    /// `ok`, or the error name.
    public var result: String
    public var durationMs: Double
    /// For a summary of coalesced refusals: how many requests it stands for. Absent otherwise (and
    /// then not part of the hashed text, so records written before it existed verify unchanged).
    public var coalesced: Int?
    /// The previous record's hash (64 zeros for the first record).
    public var prev: String
    /// SHA-256 over `prev` and this record's other fields; see `AuditChain`.
    public var hash: String

    public init(
        seq: Int = 0, time: String, uid: UInt32, gid: UInt32, pid: Int32, executable: String, method: String,
        action: String, target: String, decision: String, result: String, durationMs: Double, coalesced: Int? = nil,
        prev: String = "", hash: String = ""
    ) {
        self.seq = seq
        self.time = time
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.executable = executable
        self.method = method
        self.action = action
        self.target = target
        self.decision = decision
        self.result = result
        self.durationMs = durationMs
        self.coalesced = coalesced
        self.prev = prev
        self.hash = hash
    }

    /// A record the log writes about itself (a new segment, a retired one), as the broker process.
    static func ofTheLog(method: String, target: String, result: String, time: Date = Date()) -> AuditRecord {
        AuditRecord(
            time: timestamp(time), uid: getuid(), gid: getgid(), pid: getpid(), executable: CommandLine.arguments.first ?? "",
            method: method, action: "", target: target, decision: "audit", result: result, durationMs: 0
        )
    }
}

extension AuditRecord {
    /// The record as sorted-key JSON, written field by field in that order: byte for byte what
    /// `AuditChain.canonicalEncoder()` writes (`AuditCanonicalJSONTests`), without a tree of it.
    var canonicalJSON: [UInt8] {
        var writer = JSONWriter(capacity: 512)
        writer.openObject()
        writer.member("action", action)
        writer.member("coalesced", coalesced)
        writer.member("decision", decision)
        writer.member("durationMs")
        // A duration is always finite; a record with another would not be written, as before.
        guard (try? writer.write(double: durationMs)) != nil else { return [] }
        writer.member("executable", executable)
        writer.member("gid", gid)
        writer.member("hash", hash)
        writer.member("method", method)
        writer.member("pid", pid)
        writer.member("prev", prev)
        writer.member("result", result)
        writer.member("seq", seq)
        writer.member("target", target)
        writer.member("time", time)
        writer.member("uid", uid)
        writer.closeObject()
        return writer.bytes
    }
}
