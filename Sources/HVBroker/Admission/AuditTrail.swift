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
        /// Whether the operation may change state; true until the request is known to be a read.
        var changesState = true

        /// An admitted read: its reply does not depend on its record.
        var isAdmittedRead: Bool { decision == "allowed" && !changesState }
    }

    /// The longest text a record keeps of a field the caller chose (method, target); the rest is
    /// replaced by a count, so a hostile 1 MiB method name costs the log a few hundred bytes.
    static let maximumFieldLength = 200

    /// Writes the record of an admitted change before it acts; returns the refusal when it can't.
    /// Waits for the record to be on disk (on the log's writer thread, not this one).
    func recordIntent(_ operation: BrokerOperation, entry: Entry) async -> HVError? {
        guard operation.rule.changesState else { return nil }
        var intent = entry
        intent.result = "started"
        do {
            try await audit.append(auditRecord(intent))
            return nil
        } catch {
            logger.error("audit record could not be written; change refused", metadata: ["error": "\(error)", "method": "\(entry.method)"])
            return HVError(
                .auditUnavailable, "the audit log could not be written, so nothing was changed: \(error)",
                fix: "an administrator must make \(audit.path) writable again (free space on its filesystem); reads still work"
            )
        }
    }

    /// Writes the outcome of a request. Refusals that changed nothing are coalesced per caller
    /// under a flood (`coalescing(_:)`); everything else is written one by one.
    func record(_ entry: Entry) async {
        do {
            _ = try await audit.append(auditRecord(entry), coalescing: Self.coalescing(entry))
        } catch {
            logger.error("audit record lost", metadata: ["error": "\(error)", "method": "\(Self.bounded(entry.method))"])
        }
    }

    /// Writes the outcome of a request, waiting for it to be on disk, except for an admitted read:
    /// a read is answered even while the log can't be written, so its reply need not wait for
    /// the disk. Its record is queued in order and written with the writer's next group; only when
    /// `AuditLog.queuedLimit` such records are waiting does the read wait for the writer, so a
    /// client that reads without pause can't grow the queue. Refusals, invalid messages and
    /// changes wait as before: a flood of refusals is slowed by the disk, and a change's outcome
    /// is on disk before its caller hears of it.
    func recordOutcome(_ entry: Entry) async {
        guard entry.isAdmittedRead else { return await record(entry) }
        let logger = logger
        let method = Self.bounded(entry.method)
        await audit.enqueue(auditRecord(entry)) { result in
            if case .failure(let error) = result {
                logger.error("audit record lost", metadata: ["error": "\(error)", "method": "\(method)"])
            }
        }
    }

    /// Records without waiting, for callers that can't: a connection refused before any message.
    func submitRecord(_ entry: Entry) {
        let logger = logger
        let method = Self.bounded(entry.method)
        audit.submit(auditRecord(entry), coalescing: Self.coalescing(entry)) { result in
            if case .failure(let error) = result {
                logger.error("audit record lost", metadata: ["error": "\(error)", "method": "\(method)"])
            }
        }
    }

    /// The requests a caller with no rights can send without end, each of which changed nothing:
    /// invalid messages, refusals by polkit (or while it was unreachable) and introspection. Under
    /// a flood from one uid they are written as the first few and then one count per window, so a
    /// user in no group can't grow the log at will. A change that was admitted never is. Refusals
    /// are counted per polkit action (a set the broker fixes, not the caller), so that one flooded
    /// action doesn't hide a first attempt at another.
    static func coalescing(_ entry: Entry) -> AuditCoalescing? {
        let kind: String
        let action = entry.action.isEmpty ? "" : " for \(entry.action)"
        switch entry.decision {
        case "invalid": kind = "invalid messages"
        case "denied": kind = "requests\(action) denied by polkit"
        case "unavailable": kind = "requests\(action) refused while polkit was unreachable"
        case "public": kind = "introspection calls"
        default: return nil
        }
        return AuditCoalescing(uid: entry.peer.uid, kind: kind)
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
