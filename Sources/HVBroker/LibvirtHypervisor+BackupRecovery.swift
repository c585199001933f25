import Foundation
import HVBackup
import HVDomainXML
import HVLibvirt
import HVProtocol
import Logging

/// What a broker killed during a backup leaves: a backup job libvirt still runs (QEMU serving the
/// disks on a socket in the backup's working directory), the checkpoint the job created, the
/// working directory, and an unfinished backup in the repository (`Repository.recover()` at
/// start); and the scratch machine of a boot test, with its disks. No backup or boot test runs
/// while the broker starts, so all of it goes.
extension LibvirtHypervisor {
    /// Ends every backup job whose socket is in this broker's working directories and deletes the
    /// checkpoint it created, then removes the working directories.
    func recoverInterruptedBackups(_ connection: Connection) {
        removeInterruptedBootTests(connection)
        forgetAttemptsOfOtherMachines(connection)
        let work = layout.backupWorkDirectory
        let removal = CheckpointRemoval(runner: processRunner)
        for domain in (try? connection.domains()) ?? [] {
            guard let job = try? domain.jobStats(), job.isBackup, job.kind == .bounded || job.kind == .unbounded,
                let facts = try? BackupFacts.read(xml: try domain.backupXMLDescription()),
                let socket = facts.socketPath, socket.hasPrefix(work + "/")
            else { continue }
            let id = String(socket.dropFirst(work.count + 1).prefix { $0 != "/" })
            let checkpoint = Self.checkpointPrefix + id
            var metadata: Logger.Metadata = ["machine": "\(domain.name)", "backup": "\(id)"]
            do {
                try domain.abortJob()
                try awaitNoJob(domain)
                try removal.delete(checkpoint, of: domain)
                metadata["checkpoint"] = "\(checkpoint)"
                logger.notice("ended a backup job an interrupted broker left, and deleted its checkpoint", metadata: metadata)
            } catch {
                metadata["error"] = "\(error)"
                logger.warning("could not end a backup job an interrupted broker left", metadata: metadata)
            }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: work)) ?? [] {
            let path = work + "/" + name
            do {
                try FileManager.default.removeItem(atPath: path)
                logger.notice("removed the working directory of an interrupted backup", metadata: ["directory": "\(path)"])
            } catch {
                logger.warning("could not remove the working directory of an interrupted backup", metadata: ["directory": "\(path)", "error": "\(error)"])
            }
        }
    }

    /// Drops the backup attempts of machines that are not the broker's: deleted by another way
    /// than `Vm.Delete` (which forgets them), or refused as unmanaged by a broker that still
    /// recorded such refusals. `Backup.Status` would show them, and the monitor's "backup failed"
    /// alert would fire for a machine nobody can back up. A machine whose record can't be read
    /// now keeps its attempts, and nothing is dropped when libvirt can't list the machines.
    func forgetAttemptsOfOtherMachines(_ connection: Connection) {
        guard let domains = try? connection.domains() else { return }
        var managed: Set<String> = []
        for domain in domains {
            do {
                let element = try domain.metadata(namespace: MachineMetadata.namespace, impact: .config)
                if let element, let record = MachineMetadata.read(machineElement: element), own(record) != nil {
                    managed.insert(domain.name)
                }
            } catch {
                managed.insert(domain.name)
            }
        }
        for machine in backupAttempts.keepOnly(machines: managed) {
            logger.notice("forgot the backup attempts of a machine the broker does not manage", metadata: ["machine": "\(machine)"])
        }
    }

    /// Removes the scratch machine of each boot test the broker recorded and did not end: the
    /// machine of that name, when it is the one the test restored (its description says so),
    /// with its disks; then the record. A record whose restore never defined a machine only goes:
    /// the restore's own journal takes back its volumes.
    func removeInterruptedBootTests(_ connection: Connection) {
        let directory = BootTestScratch.directory(stateDirectory: layout.stateDirectory)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(BootTestScratch.prefix) {
            let file = directory + "/" + name
            let backup = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            var metadata: Logger.Metadata = ["machine": "\(name)", "backup": "\(backup)"]
            do {
                if let domain = try connection.domain(named: name),
                    ownRecord(domainXML: try domain.xmlDescription(flags: .inactive))?.spec?.description
                        == BootTestScratch.description(backup: backup)
                {
                    metadata["volumes"] = "\(try removeScratchMachine(domain, connection).joined(separator: ", "))"
                    logger.notice("removed the scratch machine of a boot test an interrupted broker left", metadata: metadata)
                }
                try FileManager.default.removeItem(atPath: file)
            } catch {
                metadata["error"] = "\(error)"
                logger.warning("could not remove the scratch machine of a boot test an interrupted broker left", metadata: metadata)
            }
        }
    }

    /// Waits (30 s at most) until libvirt has ended the domain's job.
    private func awaitNoJob(_ domain: Domain) throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while clock.now < deadline {
            let kind = (try? domain.jobStats())?.kind
            if kind != .bounded && kind != .unbounded { return }
            usleep(50_000)
        }
        throw BackupJobStillRunning()
    }
}

private struct BackupJobStillRunning: Error, CustomStringConvertible {
    var description: String { "the backup job was still running 30 s after it was ended" }
}
