import Foundation
import HVProtocol
import Synchronization

/// The newest backup attempt of each machine into each repository, in the broker's state
/// (`STATE/backup-attempts.json`, mode 0600), so that a backup that failed, and so left no backup
/// in the repository, still shows in `Backup.Status` and in the monitor's metrics. Written whole,
/// through a temporary file renamed into place, after every attempt; a file that can't be read
/// is started again empty. Deleting a machine through the broker drops its attempts.
public final class BackupAttempts: Sendable {
    public enum Outcome: Sendable {
        case success(String)
        case failure(HVError)
    }

    let path: String
    /// By repository, then machine.
    private let attempts: Mutex<[String: [String: BackupAttempt]]>

    public init(path: String) {
        self.path = path
        var loaded: [String: [String: BackupAttempt]] = [:]
        if let data = FileManager.default.contents(atPath: path), let list = try? JSONDecoder().decode([BackupAttempt].self, from: data) {
            for attempt in list { loaded[attempt.repository, default: [:]][attempt.machine] = attempt }
        }
        attempts = Mutex(loaded)
    }

    /// Records how an attempt ended, `now` being its end.
    public func record(repository: String, machine: String, outcome: Outcome, took duration: Duration, now: Date = Date()) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        // Saved under the lock: two attempts ending together can't write an older list last.
        attempts.withLock { attempts in
            let previous = attempts[repository]?[machine]
            var attempt = BackupAttempt(
                repository: repository, machine: machine, time: Int64(now.timeIntervalSince1970), ok: false, seconds: seconds,
                lastSuccessSeconds: previous?.lastSuccessSeconds
            )
            switch outcome {
            case .success(let backup):
                attempt.ok = true
                attempt.backup = backup
                attempt.lastSuccessSeconds = seconds
            case .failure(let error):
                attempt.code = error.code.rawValue
                attempt.reason = error.reason
            }
            attempts[repository, default: [:]][machine] = attempt
            save(attempts)
        }
    }

    /// Drops the attempts of `machine` in every repository: it was deleted. Its backups stay, and
    /// show in `Backup.Status` as long as they do.
    public func forget(machine: String) {
        attempts.withLock { attempts in
            guard attempts.values.contains(where: { $0[machine] != nil }) else { return }
            for repository in attempts.keys { attempts[repository]?[machine] = nil }
            save(attempts)
        }
    }

    /// Drops the attempts of every machine not in `machines`, and returns the machines dropped.
    public func keepOnly(machines: Set<String>) -> [String] {
        attempts.withLock { attempts in
            let dropped = Set(attempts.values.flatMap(\.keys)).subtracting(machines).sorted()
            guard !dropped.isEmpty else { return [] }
            for repository in attempts.keys {
                for machine in dropped { attempts[repository]?[machine] = nil }
                if attempts[repository]?.isEmpty == true { attempts[repository] = nil }
            }
            save(attempts)
            return dropped
        }
    }

    /// The newest attempt of each machine into `repository`.
    public func all(repository: String) -> [String: BackupAttempt] {
        attempts.withLock { $0[repository] ?? [:] }
    }

    private func save(_ attempts: [String: [String: BackupAttempt]]) {
        let list = attempts.values.flatMap(\.values).sorted { ($0.repository, $0.machine) < ($1.repository, $1.machine) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        guard let data = try? encoder.encode(list) else { return }
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else { return }
        _ = rename(temporary, path)
    }
}
