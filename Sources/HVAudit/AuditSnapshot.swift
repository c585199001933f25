import Foundation
import Synchronization

/// What readers may rely on while the writer goes on: the last record written, the last one
/// flushed to the disk, the active segment's number and the manifest. The writer changes files
/// (renames a segment, replaces the manifest) only while holding this lock, so a reader that opens
/// files under it sees them agree with the snapshot.
final class SharedSnapshot: Sendable {
    struct State: Sendable {
        var head: AuditChain.Head
        /// The sequence number of the last record known to be on disk.
        var flushedSeq: Int
        var activeNumber: Int
        var manifest: AuditManifest
    }

    private let state: Mutex<State>

    init(_ initial: State) {
        state = Mutex(initial)
    }

    func withLock<T: Sendable>(_ body: (inout State) throws(AuditError) -> T) throws(AuditError) -> T {
        try state.withLock { (state: inout State) throws(AuditError) -> T in try body(&state) }
    }

    var current: State { state.withLock { $0 } }
}
