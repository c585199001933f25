import Foundation
import HVAudit
import HVProtocol
import HVServer
import Logging

/// The audit side of the admission path: one record per request, and for a change a record of the
/// intent before acting. When that record can't be written the change is refused (fail closed).
extension Dispatcher {
    struct Entry: Sendable {
        let peer: Peer
        let started = ContinuousClock.now
        let time = Date()
        var method = ""
        var action = ""
        var target = ""
        /// `allowed`, `denied`, `refused` (by the host policy), `invalid`, `unavailable`, `public`.
        var decision = "invalid"
        var result = ""
    }

    /// The longest text a record keeps of a field the caller chose (method, target); the rest is
    /// replaced by a count, so a hostile 1 MiB method name costs the log a few hundred bytes.
    static let maximumFieldLength = 200

    /// Writes the record of an admitted change before it acts; returns the refusal when it can't.
    func recordIntent(_ operation: BrokerOperation, entry: Entry) -> HVError? {
        guard operation.rule.changesState else { return nil }
        var intent = entry
        intent.result = "started"
        do {
            try audit.append(auditRecord(intent))
            return nil
        } catch {
            logger.error("audit record could not be written; change refused", metadata: ["error": "\(error)", "method": "\(entry.method)"])
            return HVError(
                .auditUnavailable, "the audit log could not be written, so nothing was changed: \(error)",
                fix: "an administrator must make \(audit.path) writable again (free space on its filesystem); reads still work"
            )
        }
    }

    func record(_ entry: Entry) {
        do {
            try audit.append(auditRecord(entry))
        } catch {
            logger.error("audit record lost", metadata: ["error": "\(error)", "method": "\(Self.bounded(entry.method))"])
        }
    }

    func auditRecord(_ entry: Entry) -> AuditRecord {
        let elapsed = ContinuousClock.now - entry.started
        let milliseconds = Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
        return AuditRecord(
            time: AuditRecord.timestamp(entry.time),
            uid: entry.peer.uid, gid: entry.peer.gid, pid: entry.peer.pid, executable: Self.bounded(entry.peer.executable, 4096),
            method: Self.bounded(entry.method), action: entry.action, target: Self.bounded(entry.target), decision: entry.decision,
            result: Self.bounded(entry.result), durationMs: (milliseconds * 1_000).rounded() / 1_000
        )
    }

    static func bounded(_ text: String, _ limit: Int = maximumFieldLength) -> String {
        let count = text.utf8.count
        guard count > limit else { return text }
        var kept = Substring(text.prefix(limit))
        while kept.utf8.count > limit { kept = kept.dropLast() }
        return kept + "…(\(count) bytes)"
    }
}
