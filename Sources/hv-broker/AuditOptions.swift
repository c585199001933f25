import ArgumentParser
import HVAudit
import HVProtocol

/// The audit log's options: where it is, when its active segment is sealed, how many sealed
/// segments are kept, whether they are compressed, and how long reads' records may wait for the
/// disk.
struct AuditOptions: ParsableArguments {
    private static let defaults = AuditConfiguration()

    @Option(help: "The active segment of the append-only JSON Lines audit log with a SHA-256 hash chain; sealed segments and the manifest lie beside it.")
    var auditLog = "/var/log/hypervisor/audit.jsonl"
    @Option(help: "Seal the active audit segment before it grows past this size (e.g. 64MiB; at least 64KiB).")
    var auditSegmentSize = ByteSize(bytes: UInt64(Self.defaults.segmentSize)).description
    @Option(help: "Seal the active audit segment once its first record is this old: a number with s, m, h or d (e.g. 7d).")
    var auditSegmentAge = "\(Self.defaults.segmentAge.components.seconds / 86_400)d"
    @Option(help: "Sealed audit segments kept; older ones are removed and their removal recorded in the chain (0: keep all).")
    var auditKeepSegments = Self.defaults.keepSegments
    @Option(help: "Compression of sealed audit segments: gzip or none.")
    var auditCompression = Self.defaults.compression.rawValue
    @Option(help: "Reads' audit records are written at once and flushed to the disk with the next change's record or within this delay: seconds (e.g. 1s; 0s flushes each one, at a cost to every read; at most 60s).")
    var auditReadFlushDelay = "\(Self.defaults.unwaitedFlushDelay.components.seconds)s"

    func validate() throws {
        do {
            try configuration().validate()
        } catch let error as AuditError {
            throw ValidationError(error.fix.map { "\(error.reason): \($0)" } ?? error.reason)
        }
    }

    func configuration() throws -> AuditConfiguration {
        guard let size = ByteSize(parsing: auditSegmentSize), size.bytes <= UInt64(Int.max) else {
            throw ValidationError("--audit-segment-size \(auditSegmentSize): not a size (e.g. 64MiB)")
        }
        guard let age = AuditConfiguration.age(parsing: auditSegmentAge) else {
            throw ValidationError("--audit-segment-age \(auditSegmentAge): not an age (a number with s, m, h or d, e.g. 7d)")
        }
        guard let compression = AuditConfiguration.Compression(rawValue: auditCompression) else {
            throw ValidationError("--audit-compression \(auditCompression): use gzip or none")
        }
        guard let readFlushDelay = AuditConfiguration.age(parsing: auditReadFlushDelay) else {
            throw ValidationError("--audit-read-flush-delay \(auditReadFlushDelay): not a delay (a number of seconds with s, e.g. 1s)")
        }
        return AuditConfiguration(
            segmentSize: Int(size.bytes), segmentAge: age, keepSegments: auditKeepSegments, compression: compression,
            unwaitedFlushDelay: readFlushDelay
        )
    }
}
