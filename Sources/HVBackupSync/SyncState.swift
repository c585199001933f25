import Foundation
import Glibc
import HVSystem

/// A remote's directory in the state directory: the lock that lets one copy run at a time,
/// rclone's cache, and the last copy's outcome (`last.json`), for an administrator and the monitor.
public struct SyncState: Sendable {
    /// How the last copy ended.
    public struct Outcome: Sendable, Hashable, Codable {
        public var started: Date
        public var finished: Date
        public var report: RepositorySync.Report?
        /// What went wrong, when it failed.
        public var error: String?

        public init(started: Date, finished: Date, report: RepositorySync.Report?, error: String?) {
            self.started = started
            self.finished = finished
            self.report = report
            self.error = error
        }
    }

    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// Makes the directory, mode 0700.
    public func createDirectory() throws(SyncError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SyncError(.localUnreadable, "cannot make \(directory): \(error.localizedDescription)")
        }
    }

    /// Replaces `last.json` with `outcome`, whole or not at all.
    public func record(_ outcome: Outcome) throws(SyncError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        do {
            let bytes = Array(try encoder.encode(outcome))
            let parent = try Descriptor.open(directory, O_RDONLY | O_DIRECTORY)
            try parent.replaceEntry("last.json", with: bytes, mode: 0o600)
        } catch {
            throw SyncError(.localUnreadable, "cannot record the outcome in \(directory)/last.json: \(error)")
        }
    }

    /// The last copy's outcome; nil before the first.
    public func last() -> Outcome? {
        guard let data = FileManager.default.contents(atPath: directory + "/last.json") else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(Outcome.self, from: data)
    }
}
