import Foundation

/// Marks a record as one of a kind that may be coalesced under a flood: requests of one caller
/// that were refused or invalid and changed nothing. `kind` names them in the summary, in the
/// plural ("invalid messages").
public struct AuditCoalescing: Sendable, Hashable {
    public var uid: UInt32
    public var kind: String

    public init(uid: UInt32, kind: String) {
        self.uid = uid
        self.kind = kind
    }
}

/// Per caller and kind, a window: the first `burst` records in it are written one by one, the
/// rest only counted; when the window ends the count is written as one summary record ("312 more
/// invalid messages from uid 1003 in the last 10 s"). Nothing is dropped: every request is either
/// written or counted in a summary.
struct Coalescer {
    struct Window {
        var start: Date
        var written = 0
        var counted = 0
        /// The first counted record, which the summary takes its caller and decision from.
        var sample: AuditRecord?
    }

    let window: Duration
    let burst: Int
    private(set) var windows: [AuditCoalescing: Window] = [:]

    init(window: Duration, burst: Int) {
        self.window = window
        self.burst = burst
    }

    /// Whether `record` is to be written now (true) or only counted (false).
    mutating func admit(_ record: AuditRecord, as key: AuditCoalescing, at now: Date) -> Bool {
        var current = windows[key] ?? Window(start: now)
        defer { windows[key] = current }
        if current.written < burst {
            current.written += 1
            return true
        }
        current.counted += 1
        if current.sample == nil { current.sample = record }
        return false
    }

    /// When the next window ends, if any is open.
    var nextDeadline: Date? {
        windows.values.map { $0.start.addingTimeInterval(window.timeInterval) }.min()
    }

    /// The summaries of windows that ended by `now` (of every window when `all`), which are closed.
    mutating func due(at now: Date, all: Bool = false) -> [AuditRecord] {
        var summaries: [AuditRecord] = []
        for (key, current) in windows where all || current.start.addingTimeInterval(window.timeInterval) <= now {
            windows[key] = nil
            guard current.counted > 0, let sample = current.sample else { continue }
            summaries.append(summary(of: current, sample: sample, key: key, at: now))
        }
        return summaries.sorted { ($0.uid, $0.decision) < ($1.uid, $1.decision) }
    }

    /// Counts back summaries that could not be written, so a later one carries them.
    mutating func restore(_ summaries: [AuditRecord], at now: Date) {
        for summary in summaries {
            guard let count = summary.coalesced else { continue }
            let key = AuditCoalescing(uid: summary.uid, kind: summary.target)
            var current = windows[key] ?? Window(start: now, written: burst)
            current.counted += count
            if current.sample == nil { current.sample = summary }
            windows[key] = current
        }
    }

    private func summary(of current: Window, sample: AuditRecord, key: AuditCoalescing, at now: Date) -> AuditRecord {
        let seconds = Int(window.components.seconds)
        return AuditRecord(
            time: AuditRecord.timestamp(now), uid: key.uid, gid: sample.gid, pid: 0, executable: "", method: "(coalesced)",
            action: "", target: key.kind, decision: sample.decision,
            result: "\(current.counted) more \(key.kind) from uid \(key.uid) in the last \(seconds) s", durationMs: 0,
            coalesced: current.counted
        )
    }
}
