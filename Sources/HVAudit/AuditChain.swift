import Crypto
import Foundation

/// The SHA-256 hash chain that makes an edited, inserted or deleted audit line detectable.
///
/// Each record's hash covers the previous record's hash and every field of its own but `hash`,
/// serialised as sorted-key JSON. Changing any line breaks its own hash; deleting or inserting one
/// breaks the next line's `prev`; truncating the tail no longer matches the head file the broker
/// rewrites after every append.
public enum AuditChain {
    public static let genesis = String(repeating: "0", count: 64)

    /// `encoder` must sort keys and leave slashes unescaped; writers pass the one they keep.
    public static func hash(of record: AuditRecord, encoder: JSONEncoder = canonicalEncoder()) -> String {
        var unhashed = record
        unhashed.hash = ""
        let body = (try? encoder.encode(unhashed)) ?? Data()
        let digest = SHA256.hash(data: body)
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    public static func canonicalEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public struct Verification: Sendable, Hashable {
        public var intact: Bool
        public var records: Int
        public var brokenAtLine: Int?
        public var reason: String?
        /// The last good record's sequence number and hash.
        public var head: Head?
    }

    public struct Head: Codable, Sendable, Hashable {
        public var seq: Int
        public var hash: String
        public init(seq: Int, hash: String) {
            self.seq = seq
            self.hash = hash
        }
    }

    /// Checks a whole log. `head` is a record the writer wrote; when given, the log must contain it
    /// (records appended after it are fine; a log that stops short of it was truncated).
    public static func verify(contents: Data, head: Head?) -> Verification {
        var previous = genesis
        var expectedSeq = 1
        var count = 0
        var containsHead = head == nil
        let decoder = JSONDecoder()
        let encoder = canonicalEncoder()
        let lines = contents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            let lineNumber = index + 1
            if line.isEmpty {
                if index == lines.count - 1 { break }
                return broken(lineNumber, count, "line \(lineNumber) is empty")
            }
            guard let record = try? decoder.decode(AuditRecord.self, from: Data(line)) else {
                return broken(lineNumber, count, "line \(lineNumber) is not an audit record")
            }
            guard record.seq == expectedSeq else {
                return broken(
                    lineNumber, count,
                    "line \(lineNumber) has sequence number \(record.seq), expected \(expectedSeq): a record was deleted or inserted"
                )
            }
            guard record.prev == previous else {
                return broken(lineNumber, count, "line \(lineNumber) does not follow the line before it: a record was deleted, inserted or changed")
            }
            guard hash(of: record, encoder: encoder) == record.hash else {
                return broken(lineNumber, count, "line \(lineNumber) was changed after it was written (its hash does not match)")
            }
            if let head, record.seq == head.seq { containsHead = record.hash == head.hash }
            previous = record.hash
            expectedSeq += 1
            count += 1
        }
        let last = count == 0 ? nil : Head(seq: count, hash: previous)
        if let head, !containsHead {
            return Verification(
                intact: false, records: count, brokenAtLine: min(count, head.seq - 1) + 1,
                reason: "the log ends at record \(count) but the broker last wrote record \(head.seq): records were removed from the end",
                head: last
            )
        }
        return Verification(intact: true, records: count, brokenAtLine: nil, reason: nil, head: last)
    }

    private static func broken(_ line: Int, _ count: Int, _ reason: String) -> Verification {
        Verification(intact: false, records: count, brokenAtLine: line, reason: reason, head: nil)
    }
}
