import Foundation
import Glibc
import HVProtocol
import HVSystem
import Synchronization

/// A volume, named by its pool and its name in that pool.
struct VolumeKey: Codable, Hashable, Sendable, CustomStringConvertible {
    var pool: String
    var name: String
    var description: String { pool + "/" + name }
}

/// One change that makes volumes before the machine that uses them is defined.
struct PendingRecord: Codable, Sendable {
    var id: String
    /// The operation, as the audit log names it (`Vm.Apply`, `Vm.Clone`, …).
    var operation: String
    var machine: String
    var volumes: [VolumeKey]
    var startedAt: Date
}

/// The broker's journal of half-done work, one file per change in `STATE/pending` (mode 0700).
///
/// A change that makes volumes writes its record, flushed, before it makes the first one, and
/// removes it once the machine is defined or the volumes are taken back. A record left behind
/// (the broker was killed, or libvirtd went away before the volumes could be deleted) names
/// exactly the volumes that are provably the broker's own; `LibvirtHypervisor.recoverInterruptedWork`
/// removes those that no machine uses.
final class PendingWork: Sendable {
    let directory: String
    /// Records of changes still running in this process: never recovered from under them.
    private let live = Mutex<Set<String>>([])

    init(directory: String) {
        self.directory = directory
    }

    /// Records the change before its first volume is made; nil when it makes none. A journal that
    /// can't be written (a full file system) refuses the change before anything is touched.
    func begin(_ operation: String, machine: String, volumes: [VolumeKey]) throws(HVError) -> PendingRecord? {
        guard !volumes.isEmpty else { return nil }
        let record = PendingRecord(id: UUID().uuidString.lowercased(), operation: operation, machine: machine, volumes: volumes, startedAt: Date())
        live.withLock { _ = $0.insert(record.id) }
        do throws(SystemError) {
            try write(record)
        } catch {
            live.withLock { _ = $0.remove(record.id) }
            throw HVError(
                .failed, "nothing was changed: the broker could not record the work it was about to start in \(directory): \(error.reason)",
                fix: error.code == ENOSPC || error.code == EDQUOT
                    ? "free space on the file system that holds the broker's state directory, then retry"
                    : "check the broker's state directory, then retry"
            )
        }
        return record
    }

    /// The change is over: its volumes are in use, or were taken back.
    func end(_ record: PendingRecord?) {
        guard let record else { return }
        discard(record.id)
        live.withLock { _ = $0.remove(record.id) }
    }

    /// Rewrites the record of a change that failed with only the volumes it made, so that a later
    /// recovery never removes a volume whose name another request had. Left as it was when it
    /// can't be written.
    func narrow(_ record: PendingRecord) {
        try? write(record)
    }

    /// Leaves the record for recovery: the change could not take back what it made.
    func abandon(_ record: PendingRecord?) {
        guard let record else { return }
        live.withLock { _ = $0.remove(record.id) }
    }

    /// Records of changes that no longer run in this process, oldest first, and the names of
    /// files that are not records (removed by `discardUnreadable`).
    func abandoned() -> (records: [PendingRecord], unreadable: [String]) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let running = live.withLock { $0 }
        var records: [PendingRecord] = []
        var unreadable: [String] = []
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        for name in names where name.hasSuffix(".json") && !running.contains(String(name.dropLast(5))) {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
            guard let record = try? decoder.decode(PendingRecord.self, from: data), record.id + ".json" == name else {
                unreadable.append(name)
                continue
            }
            records.append(record)
        }
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") { unreadable.append(name) }
        return (records.sorted { $0.startedAt < $1.startedAt }, unreadable)
    }

    func discard(_ id: String) {
        unlink(directory + "/" + id + ".json")
        try? Descriptor.syncDirectory(directory)
    }

    func discardUnreadable(_ name: String) {
        unlink(directory + "/" + name)
    }

    private func write(_ record: PendingRecord) throws(SystemError) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let bytes = Array((try? encoder.encode(record)) ?? Data())
        let temporary = directory + "/." + record.id + ".tmp"
        let file = try Descriptor.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o600)
        do throws(SystemError) {
            try file.writeAll(bytes)
            try file.sync()
            file.close()
            try systemCall("rename \(temporary)") { rename(temporary, directory + "/" + record.id + ".json") }
            try Descriptor.syncDirectory(directory)
        } catch {
            unlink(temporary)
            throw error
        }
    }
}
