import ArgumentParser
import Foundation
import HVBackupStore

/// `hv-broker backup-key generate PATH`: a new key file for an encrypted backup repository, for
/// an administrator to name as `key_file` in the backup configuration.
struct BackupKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup-key", abstract: "Key files for encrypted backup repositories.", subcommands: [Generate.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write 32 random bytes to a new file (mode 0600, never over an existing one) and print its fingerprint.",
            discussion: "Run as root. Name the file as key_file of a repository in /etc/hypernixos/backup.yaml; keep a copy apart from the backups: without it they can't be read."
        )

        @Argument(help: "The new key file, by absolute path.") var path: String

        func validate() throws {
            guard getuid() == 0 else { throw ValidationError("run it as root: the broker reads only key files that root owns") }
            guard path.hasPrefix("/") else { throw ValidationError("give the key file's absolute path, such as /etc/hypernixos/backup.key") }
        }

        func run() throws {
            do {
                let key = try KeyFile.generate(at: path)
                print("wrote \(path) (fingerprint \(key.fingerprint)); keep a copy somewhere the backups are not")
            } catch {
                FileHandle.standardError.write(Data("hv-broker: \(error.reason)\(error.fix.map { "\nfix: \($0)" } ?? "")\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
