import Crypto
import Foundation

/// The list of sealed segments, in order: for each its file, its first and last record and the
/// hash its first record follows, so that a segment removed, reordered, replaced, edited or cut
/// short no longer matches. Retired segments (removed by retention) are summed up by the last
/// one's record, so the chain verifies from the first segment kept.
///
/// `hash` covers everything else in the file, so an edit by hand is found; the file is replaced
/// atomically (`FileIO.replace`) each time it changes.
public struct AuditManifest: Codable, Sendable, Hashable {
    public struct Segment: Codable, Sendable, Hashable {
        public var number: Int
        public var file: String
        public var firstSeq: Int
        public var lastSeq: Int
        /// The hash the segment's first record follows: the previous segment's last.
        public var prev: String
        public var lastHash: String
        public var sealedAt: String

        /// Where the chain stands after this segment.
        public var end: AuditChain.Head { AuditChain.Head(seq: lastSeq, hash: lastHash) }
        /// Where the chain stands before it.
        public var start: AuditChain.Head { AuditChain.Head(seq: firstSeq - 1, hash: prev) }
        var records: String { "records \(firstSeq)–\(lastSeq)" }
    }

    /// The segments retention removed: how many, and the last one's end, where the chain resumes.
    public struct Retired: Codable, Sendable, Hashable {
        public var count: Int
        public var lastNumber: Int
        public var lastSeq: Int
        public var lastHash: String
    }

    public var retired: Retired?
    public var segments: [Segment]
    /// SHA-256 over the manifest's other fields, as sorted-key JSON.
    public var hash: String

    public init(retired: Retired? = nil, segments: [Segment] = []) {
        self.retired = retired
        self.segments = segments
        hash = ""
        hash = computedHash
    }

    public var computedHash: String {
        var unhashed = self
        unhashed.hash = ""
        return AuditChain.hex(SHA256.hash(data: (try? AuditChain.canonicalEncoder().encode(unhashed)) ?? Data()))
    }

    /// Whether `hash` still matches the contents.
    public var isUnchanged: Bool { hash == computedHash }

    /// Where the chain starts in the first segment kept: after the last retired record, or the origin.
    public var origin: AuditChain.Head {
        retired.map { AuditChain.Head(seq: $0.lastSeq, hash: $0.lastHash) } ?? .origin
    }

    /// Where the chain stands after the last sealed segment.
    public var sealedEnd: AuditChain.Head { segments.last?.end ?? origin }

    /// The number the active segment has (one past the last sealed one).
    public var activeNumber: Int { (segments.last?.number ?? retired?.lastNumber ?? 0) + 1 }

    /// The number of the first segment the chain is read from.
    public var firstKept: Int { segments.first?.number ?? activeNumber }

    mutating func update(_ change: (inout AuditManifest) -> Void) {
        change(&self)
        hash = computedHash
    }

    /// Reads the manifest; nil when there is none (no segment was sealed yet).
    public static func load(_ path: String) throws(AuditError) -> AuditManifest? {
        guard let bytes = try FileIO.contents(path) else { return nil }
        return try decode(bytes, path: path)
    }

    /// The manifest in `bytes`, read from the file at `path`.
    static func decode(_ bytes: [UInt8], path: String) throws(AuditError) -> AuditManifest {
        do {
            return try JSONDecoder().decode(AuditManifest.self, from: Data(bytes))
        } catch {
            throw AuditError(.unreadable, "the manifest \((path as NSString).lastPathComponent) is not a manifest: it was edited or damaged")
        }
    }

    func write(to path: String) throws(AuditError) {
        let encoder = AuditChain.canonicalEncoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        let bytes: Data
        do {
            bytes = try encoder.encode(self)
        } catch {
            throw AuditError(.unwritable, "cannot encode the manifest: \(error)")
        }
        try FileIO.replace(path, with: Array(bytes) + [UInt8(ascii: "\n")])
    }
}

/// The last record verified: its segment, its line there and the offset just past it, with the
/// chain position. Verifying again starts here, so it reads only what was appended since.
public struct AuditCheckpoint: Codable, Sendable, Hashable {
    public var segment: Int
    public var offset: Int
    public var line: Int
    public var seq: Int
    public var hash: String

    public init(segment: Int, offset: Int, line: Int, seq: Int, hash: String) {
        self.segment = segment
        self.offset = offset
        self.line = line
        self.seq = seq
        self.hash = hash
    }

    public var position: AuditChain.Head { AuditChain.Head(seq: seq, hash: hash) }

    /// Nothing verified yet: the start of the first segment kept.
    static func origin(_ manifest: AuditManifest) -> AuditCheckpoint {
        let start = manifest.origin
        return AuditCheckpoint(segment: manifest.firstKept, offset: 0, line: 0, seq: start.seq, hash: start.hash)
    }

    /// The checkpoint stored beside the log, if it is one that still applies to `manifest`.
    static func load(_ path: String, manifest: AuditManifest) -> AuditCheckpoint? {
        guard let bytes = try? FileIO.contents(path),
            let checkpoint = try? JSONDecoder().decode(AuditCheckpoint.self, from: Data(bytes)),
            checkpoint.segment >= manifest.firstKept, checkpoint.segment <= manifest.activeNumber
        else { return nil }
        return checkpoint
    }

    func write(to path: String) throws(AuditError) {
        let bytes = (try? AuditChain.canonicalEncoder().encode(self)) ?? Data()
        try FileIO.replace(path, with: Array(bytes) + [UInt8(ascii: "\n")])
    }
}
