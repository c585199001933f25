import Foundation

/// Where the files of one audit log live, all beside the active segment:
///
/// - `audit.jsonl`: the active segment, appended to;
/// - `audit.jsonl.000001` (`.gz` once compressed): sealed segments, numbered from 1;
/// - `audit.jsonl.manifest`: the sealed segments' first and last records (`AuditManifest`);
/// - `audit.jsonl.head`: the last record written;
/// - `audit.jsonl.checkpoint`: the last record verified (`AuditCheckpoint`).
public struct AuditFiles: Sendable, Hashable {
    /// The active segment.
    public let log: String
    public let directory: String
    /// The active segment's file name, the stem of every other name.
    public let name: String

    public init(log: String) {
        self.log = log
        let url = URL(fileURLWithPath: log)
        directory = url.deletingLastPathComponent().path
        name = url.lastPathComponent
    }

    public var head: String { log + ".head" }
    public var manifest: String { log + ".manifest" }
    public var checkpoint: String { log + ".checkpoint" }

    /// The file name of sealed segment `number`.
    public func sealedName(_ number: Int, compressed: Bool) -> String {
        let digits = String(number)
        return name + "." + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + (compressed ? ".gz" : "")
    }

    public func path(_ file: String) -> String { directory + "/" + file }

    static func isCompressed(_ file: String) -> Bool { file.hasSuffix(".gz") }
}
