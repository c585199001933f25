import CSystemd
import Foundation

/// Sends audit records to the systemd journal with structured fields.
public enum Journal {
    /// Whether a journal socket exists to send to.
    public static var isAvailable: Bool {
        FileManager.default.fileExists(atPath: "/run/systemd/journal/socket")
    }

    static func send(_ record: AuditRecord) {
        let fields = [
            "MESSAGE=\(record.method) \(record.target) by uid \(record.uid): \(record.decision), \(record.result)",
            "PRIORITY=\(record.decision == "allowed" ? 6 : 5)",
            "SYSLOG_IDENTIFIER=hv-broker",
            "HV_SEQ=\(record.seq)",
            "HV_UID=\(record.uid)",
            "HV_PID=\(record.pid)",
            "HV_EXECUTABLE=\(record.executable)",
            "HV_METHOD=\(record.method)",
            "HV_ACTION=\(record.action)",
            "HV_TARGET=\(record.target)",
            "HV_DECISION=\(record.decision)",
            "HV_RESULT=\(record.result)",
            "HV_DURATION_MS=\(record.durationMs)",
            "HV_HASH=\(record.hash)",
        ].map { Array($0.utf8) }
        let buffers = fields.map { field -> UnsafeMutableRawBufferPointer in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: field.count, alignment: 1)
            buffer.copyBytes(from: field)
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        var vectors = buffers.map { iovec(iov_base: $0.baseAddress, iov_len: $0.count) }
        _ = sd_journal_sendv(&vectors, Int32(vectors.count))
    }
}
