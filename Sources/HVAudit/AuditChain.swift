import Crypto
import Foundation
import HVProtocol

/// The SHA-256 hash chain that makes an edited, inserted or deleted audit line detectable.
///
/// Each record's hash covers the previous record's hash and every field of its own but `hash`,
/// serialised as sorted-key JSON. Changing any line breaks its own hash; deleting or inserting one
/// breaks the next line's `prev`; truncating the tail no longer matches the head file the broker
/// rewrites after every append. The chain runs on across segments: a segment's first record
/// follows the previous segment's last.
public enum AuditChain {
    public static let genesis = String(repeating: "0", count: 64)

    public static func hash(of record: AuditRecord) -> String {
        var unhashed = record
        unhashed.hash = ""
        return hex(SHA256.hash(data: unhashed.canonicalJSON))
    }

    /// `value` as sorted-key JSON with slashes unescaped, byte for byte what `canonicalEncoder()`
    /// writes, through the protocol's codec (`VarlinkJSON`), which costs a fraction of it.
    public static func canonicalJSON(_ value: some Encodable) -> [UInt8] {
        (try? VarlinkJSON.encode(value)) ?? []
    }

    /// A record as sorted-key JSON, written field by field.
    public static func canonicalJSON(_ record: AuditRecord) -> [UInt8] {
        record.canonicalJSON
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in digest {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    public static func canonicalEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A position in the chain: a record's sequence number and hash (0 and `genesis` before the first).
    public struct Head: Codable, Sendable, Hashable {
        public var seq: Int
        public var hash: String
        public init(seq: Int, hash: String) {
            self.seq = seq
            self.hash = hash
        }

        public static let origin = Head(seq: 0, hash: AuditChain.genesis)
    }

    /// What a verification found.
    public struct Verification: Sendable, Hashable {
        public var intact: Bool
        /// Records verified by this run.
        public var records: Int
        /// The file where the chain breaks (a segment, or the manifest).
        public var segment: String?
        /// The 1-based line of `segment` where the chain breaks.
        public var brokenAtLine: Int?
        public var reason: String?
        /// The last good record's sequence number and hash.
        public var head: Head?
        /// Segment files read.
        public var segments: Int
        /// Sealed segments removed by retention; the chain is verified from the first one kept.
        public var retiredSegments: Int
        /// Bytes read from segment files (compressed bytes for gzip segments).
        public var bytesRead: Int

        public init(
            intact: Bool, records: Int, segment: String? = nil, brokenAtLine: Int? = nil, reason: String? = nil, head: Head? = nil,
            segments: Int = 0, retiredSegments: Int = 0, bytesRead: Int = 0
        ) {
            self.intact = intact
            self.records = records
            self.segment = segment
            self.brokenAtLine = brokenAtLine
            self.reason = reason
            self.head = head
            self.segments = segments
            self.retiredSegments = retiredSegments
            self.bytesRead = bytesRead
        }
    }

    /// Checks one log held in memory, as one segment from the start of the chain. `head` is a
    /// record the writer wrote; when given, the log must contain it (records appended after it
    /// are fine; a log that stops short of it was truncated).
    public static func verify(contents: Data, head: Head?) -> Verification {
        var check = Check(after: .origin)
        var records = 0
        var containsHead = head == nil
        let lines = contents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            if line.isEmpty, index == lines.count - 1 { break }
            do throws(Break) {
                let record = try check.accept(line, line: index + 1)
                if let head, record.seq == head.seq { containsHead = record.hash == head.hash }
                records += 1
            } catch {
                return Verification(intact: false, records: records, brokenAtLine: index + 1, reason: error.reason)
            }
        }
        let last = records == 0 ? nil : check.position
        if let head, !containsHead {
            return Verification(
                intact: false, records: records, brokenAtLine: min(records, head.seq - 1) + 1,
                reason: truncated(endsAt: records, head: head), head: last
            )
        }
        return Verification(intact: true, records: records, head: last)
    }

    static func truncated(endsAt seq: Int, head: Head) -> String {
        "the log ends at record \(seq) but the broker last wrote record \(head.seq): records were removed from the end"
    }

    /// Why a line does not continue the chain.
    struct Break: Error {
        var reason: String
    }

    /// Follows the chain one line at a time: each line must be a record, carry the next sequence
    /// number, name the previous record's hash and match its own.
    struct Check {
        private(set) var position: Head
        init(after position: Head) {
            self.position = position
        }

        mutating func accept(_ bytes: some Collection<UInt8>, line: Int) throws(Break) -> AuditRecord {
            guard !bytes.isEmpty else { throw Break(reason: "line \(line) is empty") }
            guard let record = try? VarlinkJSON.decode(AuditRecord.self, from: Array(bytes)) else {
                throw Break(reason: "line \(line) is not an audit record")
            }
            let expected = position.seq + 1
            guard record.seq == expected else {
                throw Break(reason: "line \(line) has sequence number \(record.seq), expected \(expected): a record was deleted or inserted")
            }
            guard record.prev == position.hash else {
                throw Break(reason: "line \(line) does not follow the line before it: a record was deleted, inserted or changed")
            }
            guard Self.hashOfWrittenLine(bytes, hash: record.hash) == record.hash || AuditChain.hash(of: record) == record.hash else {
                throw Break(reason: "line \(line) was changed after it was written (its hash does not match)")
            }
            position = Head(seq: record.seq, hash: record.hash)
            return record
        }

        /// The hash of a line as the writer writes it (sorted-key JSON), computed from its bytes
        /// with the hash's value left out: equal to `hash` only for the very bytes that were
        /// hashed, which spares encoding the record again. Lines written otherwise (reformatted)
        /// are checked by encoding the record.
        private static let emptyHashField = Array("\"hash\":\"\"".utf8)

        static func hashOfWrittenLine(_ bytes: some Collection<UInt8>, hash: String) -> String? {
            let line = Array(bytes)
            let field = Array("\"hash\":\"\(hash)\"".utf8)
            let found = line.withUnsafeBytes { text in
                field.withUnsafeBytes { pattern -> Int? in
                    var start = 0
                    while start + pattern.count <= text.count {
                        if memcmp(text.baseAddress! + start, pattern.baseAddress!, pattern.count) == 0 { return start }
                        start += 1
                    }
                    return nil
                }
            }
            guard let start = found else { return nil }
            var digest = SHA256()
            digest.update(data: line[..<start])
            digest.update(data: emptyHashField)
            digest.update(data: line[(start + field.count)...])
            return AuditChain.hex(digest.finalize())
        }
    }
}
