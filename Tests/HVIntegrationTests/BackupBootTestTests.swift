import Foundation
import HVProtocol
import HVTestSupport
import Testing

/// Boot tests and recorded checks end to end as an operator of team A, on `qemu:///system` with a
/// real TCG guest behind a broker of its own (pool `hv-it-boot-test`, machine `hv-it-boot-guest`):
/// a backup boot-tested (the guest prints its marker on the scratch machine's console) and the
/// result recorded; a chunk of it corrupted in the repository, found by verify naming backup, disk
/// and chunk, and the backup marked bad; a boot test of it then failing at the restore, recorded;
/// a monitor of the broker exporting both failures and alerting on each, naming the machine; the
/// original machine running throughout on the same disks, and no scratch machine left.
@Suite(.serialized, .enabled(if: Environment.enabled))
struct BackupBootTestTests {
    static let machine = "hv-it-boot-guest"

    @Test func aBackupBootsInAScratchMachineAndACorruptedOneIsMarkedBad() throws {
        let stack = try Stack.shared.get()
        let broker = try MatrixBroker(stack: stack, name: "boot-test", operations: [], libvirtUri: "qemu:///system")
        defer { Self.remove(broker) }
        let owner = MatrixBroker.ownerOperator
        func hv(_ arguments: [String], as user: String = owner) throws -> Output {
            try run([stack.bin + "/hv"] + arguments, as: user, environment: ["HV_SOCKET": broker.socket], timeout: 1800)
        }
        func decode<T: Decodable>(_ type: T.Type, _ output: Output) throws -> T {
            guard output.status == 0 else { throw SetupError("\(output)") }
            return try JSONDecoder().decode(type, from: Data(output.stdout.utf8))
        }
        func virsh(_ arguments: [String]) throws -> String {
            try run(["/usr/bin/virsh", "-c", "qemu:///system"] + arguments).stdout
        }

        try BackupTests.bootGuest(broker, stack, machine: Self.machine) { try hv($0) }
        let typed = try run(
            [ConsoleMachine.python, stack.base + "/py/console-session.py", stack.bin + "/hv", Self.machine, "type",
             "head -c 8388608 /dev/urandom > /dev/vda; sync"],
            as: owner, environment: ["HV_SOCKET": broker.socket], timeout: 900
        )
        guard typed.status == 0 else { throw SetupError("writing the pattern: \(typed)") }
        let originalUUID = try virsh(["domuuid", Self.machine])
        let originalDisks = try virsh(["domblklist", Self.machine])
        let backup = try decode(BackupInfo.self, try hv(["backup", "create", Self.machine, "--json"]))
        #expect(backup.status == .unverified && backup.bootTest == nil)

        // The boot test passes on the console marker, is recorded, and leaves nothing behind.
        let passed = try decode(
            BackupBootTestReply.self,
            try hv(["backup", "boot-test", backup.id, "--marker", Stack.marker, "--timeout", "900", "--json"])
        )
        #expect(passed.test.ok && passed.test.signal == "console: \(Stack.marker)", "\(passed)")
        let shown = try decode(BackupInfo.self, try hv(["backup", "show", backup.id, "--json"]))
        #expect(shown.bootTest?.ok == true && shown.status == .ok, "\(shown)")
        try expectNoScratchMachine(broker, virsh)

        // A stranger and another team's operator may not boot-test it.
        #expect(try hv(["backup", "boot-test", backup.id], as: Stack.strangerUser).status == 4)
        #expect(try hv(["backup", "boot-test", backup.id], as: MatrixBroker.otherOperator).status == 4)

        // A corrupted chunk: verify names it and marks the backup bad.
        let digest = try Self.firstDigest(broker, backup: backup.id, disk: "vda")
        let chunk = broker.base + "/backups/chunks/\(digest.prefix(2))/\(digest.dropFirst(2).prefix(2))/\(digest)"
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: chunk))
        try handle.seek(toOffset: 100)
        let byte = try handle.read(upToCount: 1) ?? Data([0])
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data([byte[0] ^ 0xff]))
        try handle.close()
        let verified = try decode(BackupVerifyReply.self, try hv(["backup", "verify", backup.id, "--json"]))
        #expect(!verified.ok)
        #expect(verified.problems.first?.hasPrefix("backup \(backup.id), disk vda, chunk 0 (\(digest))") == true, "\(verified.problems)")
        let bad = try decode(BackupInfo.self, try hv(["backup", "show", backup.id, "--json"]))
        #expect(bad.status == .bad)
        #expect(bad.disks.first?.verification?.problems?.first?.contains("disk vda, chunk 0") == true, "\(bad)")

        // Its restore can't succeed: the boot test fails, says why, and is recorded.
        let failed = try decode(BackupBootTestReply.self, try hv(["backup", "boot-test", backup.id, "--timeout", "60", "--json"]))
        #expect(!failed.test.ok && failed.test.problem?.contains("chunk 0") == true, "\(failed)")
        #expect(failed.backup.bootTest?.ok == false && failed.backup.status == .bad)
        let refused = try hv(["backup", "boot-test", backup.id, "--timeout", "60"])
        #expect(refused.status != 0 && refused.stderr.contains("failed its boot test"), "\(refused)")
        try expectNoScratchMachine(broker, virsh)

        // What the monitor reads: the machine's newest attempt succeeded, its newest checks failed.
        let status = try decode(BackupStatusReply.self, try hv(["backup", "status", "--json"], as: Stack.viewerUser))
        let mine = try #require(status.machines.first { $0.machine == Self.machine })
        #expect(mine.lastAttempt?.ok == true && mine.lastAttempt?.backup == backup.id)
        #expect(mine.lastVerification?.ok == false && mine.lastBootTest?.ok == false)
        try expectTheMonitorAlerts(stack, broker)

        // A boot test whose caller goes away stops, and its scratch machine goes.
        let good = try decode(BackupInfo.self, try hv(["backup", "create", Self.machine, "--json"]))
        let cancelled = try spawnBootTest(stack, broker, good.id)
        try awaitScratchRunning(broker, virsh)
        try stopBootTests(good.id)
        cancelled.waitUntilExit()
        #expect(waitUntil(60, every: 0.5) { (try? self.scratchDomains(virsh))?.isEmpty == true }, "the scratch machine was removed")
        #expect(try FileManager.default.contentsOfDirectory(atPath: broker.base + "/state/boot-tests").isEmpty)

        // A broker killed during a boot test: its next start removes the scratch machine and says so.
        let orphaned = try spawnBootTest(stack, broker, good.id)
        try awaitScratchRunning(broker, virsh)
        let scratch = try #require(try scratchDomains(virsh).first)
        _ = try run(["/usr/bin/pkill", "-KILL", "-f", "hv-broker --socket " + broker.socket])
        try stopBootTests(good.id)
        orphaned.waitUntilExit()
        try? FileManager.default.removeItem(atPath: broker.socket)
        try? FileManager.default.removeItem(atPath: broker.uploadSocket)
        #expect(try scratchDomains(virsh) == [scratch], "the killed broker left it")
        try broker.start()
        #expect(waitUntil(60, every: 0.5) { (try? self.scratchDomains(virsh))?.isEmpty == true })
        try expectNoScratchMachine(broker, virsh)
        let log = try String(contentsOfFile: broker.base + "/broker.log", encoding: .utf8)
        #expect(log.contains("removed the scratch machine of a boot test an interrupted broker left"), "the broker says what it cleaned")
        #expect(log.contains(scratch))
        #expect(try decode(BackupInfo.self, try hv(["backup", "show", good.id, "--json"])).bootTest == nil, "neither test was recorded")

        // The original was never touched: still running, the same machine on the same disks.
        #expect(try virsh(["domstate", Self.machine]).hasPrefix("running"))
        #expect(try virsh(["domuuid", Self.machine]) == originalUUID)
        #expect(try virsh(["domblklist", Self.machine]) == originalDisks)
    }

    /// A monitor of this broker, as hv-monitor runs on a host: its `/metrics` says the machine's
    /// newest verification and boot test failed and its newest backup succeeded, and both
    /// failures fire alerts naming the machine, listed by `hv alerts list` and sent to the webhook.
    func expectTheMonitorAlerts(_ stack: Stack, _ broker: MatrixBroker) throws {
        let monitor = try MonitorStack(stack, brokerSocket: broker.socket, directory: broker.base + "/monitor", metricsPort: 19_479)
        defer { monitor.stop() }
        let series = ["vm": Self.machine, "repository": "matrix"]
        #expect(waitUntil(60, every: 0.5) { (try? monitor.value("hv_backup_boot_test_ok", labels: series)) == 0 }, "\((try? monitor.scrape()) ?? "")")
        #expect(try monitor.value("hv_backup_verify_ok", labels: series) == 0)
        #expect(try monitor.value("hv_backup_last_attempt_success", labels: series) == 1)

        let rules: Set = ["backup-verification-failed", "backup-boot-test-failed"]
        func firing() throws -> [ActiveAlert] {
            let list = try monitor.hv(["alerts", "list", "--json"], as: Stack.viewerUser)
            guard list.status == 0 else { throw SetupError("hv alerts list: \(list)") }
            return try JSONDecoder().decode(ListAlertsReply.self, from: Data(list.stdout.utf8)).active.filter { $0.labels == series }
        }
        #expect(try waitUntil(60, every: 0.5) { Set(try firing().map(\.rule)) == rules }, "\((try? firing()) ?? [])")
        #expect(try firing().allSatisfy { $0.severity == .critical && $0.summary.contains("VM \(Self.machine) in matrix failed") })
        func notified() -> Set<String> {
            let bodies = monitor.webhooks().filter { $0["path"] as? String == "/generic" }.compactMap { $0["body"] as? [String: Any] }
            return Set(bodies.filter { $0["kind"] as? String == "firing" && $0["labels"] as? [String: String] == series }.compactMap {
                $0["rule"] as? String
            })
        }
        #expect(waitUntil(60, every: 0.5) { notified() == rules }, "\(monitor.webhooks())")
    }

    /// Starts `hv backup boot-test` as the owner operator, waiting for a marker the guest never
    /// prints; returns its process id.
    func spawnBootTest(_ stack: Stack, _ broker: MatrixBroker, _ id: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
        process.arguments = [
            "-u", MatrixBroker.ownerOperator, "--", "/usr/bin/env", "HV_SOCKET=" + broker.socket, stack.bin + "/hv", "backup", "boot-test", id,
            "--marker", "HV-IT-BOOT-NEVER", "--timeout", "600",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Kills the `hv backup boot-test` clients `spawnBootTest` started (runuser and hv), as a
    /// caller that goes away.
    func stopBootTests(_ id: String) throws {
        _ = try run(["/usr/bin/pkill", "-KILL", "-f", "backup boot-test \(id) --marker HV-IT-BOOT-NEVER"])
    }

    func scratchDomains(_ virsh: ([String]) throws -> String) throws -> [String] {
        try virsh(["list", "--all", "--name"]).split(separator: "\n").map(String.init).filter { $0.hasPrefix("hv-boottest-") }
    }

    /// Waits until a scratch machine of this broker's runs.
    func awaitScratchRunning(_ broker: MatrixBroker, _ virsh: ([String]) throws -> String) throws {
        guard try waitUntil(600, every: 0.5, {
            try virsh(["list", "--name"]).split(separator: "\n").contains { $0.hasPrefix("hv-boottest-") }
        }) else { throw SetupError("no scratch machine started") }
    }

    /// No scratch machine of this broker's is left: no record of a running test, no domain, no volume.
    func expectNoScratchMachine(_ broker: MatrixBroker, _ virsh: ([String]) throws -> String) throws {
        let records = (try? FileManager.default.contentsOfDirectory(atPath: broker.base + "/state/boot-tests")) ?? []
        #expect(records.isEmpty, "\(records)")
        let domains = try virsh(["list", "--all", "--name"]).split(separator: "\n").filter { $0.hasPrefix("hv-boottest-") }
        #expect(domains.isEmpty, "\(domains)")
        let volumes = try virsh(["vol-list", "hv-it-boot-test"])
        #expect(!volumes.contains("hv-boottest-"), "\(volumes)")
    }

    /// The digest of the first chunk of a disk of a backup, read from its index (`HVFIDX01`, chunk
    /// size, disk size, then 32 bytes per chunk).
    static func firstDigest(_ broker: MatrixBroker, backup: String, disk: String) throws -> String {
        let index = try Data(contentsOf: URL(fileURLWithPath: broker.base + "/backups/backups/\(backup)/\(disk).fidx"))
        return index[24..<56].map { String(format: "%02x", $0) }.joined()
    }

    /// Removes this test's guest, any scratch machine its broker recorded, its pool and directory.
    static func remove(_ broker: MatrixBroker) {
        var names = [machine]
        names += (try? FileManager.default.contentsOfDirectory(atPath: broker.base + "/state/boot-tests")) ?? []
        _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"])
        for name in names {
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "destroy", name])
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "undefine", name, "--checkpoints-metadata", "--remove-all-storage"])
        }
        for command in [["pool-destroy", "hv-it-boot-test"], ["pool-undefine", "hv-it-boot-test"]] {
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system"] + command)
        }
        try? FileManager.default.removeItem(atPath: broker.base)
    }
}
