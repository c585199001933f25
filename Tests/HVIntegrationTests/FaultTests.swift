import Foundation
import Glibc
import HVTestSupport
import Testing

/// Faults the broker must survive with nothing lost and a clear error while they last: polkitd
/// stopped or hung, libvirtd killed in the middle of a change, the broker itself killed with
/// SIGKILL in the middle of one, and full file systems. It stops the host's polkitd and libvirtd,
/// so it runs on its own: scripts/test.sh runs it after every other suite, with HV_FAULTS=1.
@Suite(.serialized, .enabled(if: Environment.enabled && Environment.faults))
struct FaultTests {
    /// libvirtd goes away and comes back; the suite's shared broker says so meanwhile and
    /// reconnects by itself. Here, not beside the other suites: their guests need libvirtd.
    @Test func brokerSurvivesLibvirtdRestart() async throws {
        try withStack { stack in
            #expect(try stack.hv(["vm", "list"], as: Stack.viewerUser).status == 0)
            // As if it crashed. Gone means no libvirtd left but zombies (nothing may reap them here).
            try run(["/usr/bin/pkill", "-KILL", "-x", "libvirtd"])
            let gone = waitUntil(20, every: 0.2) {
                let states = (try? run(["/usr/bin/ps", "-C", "libvirtd", "-o", "stat="]).stdout) ?? ""
                return states.split(separator: "\n").allSatisfy { $0.hasPrefix("Z") }
            }
            #expect(gone, "libvirtd did not stop")

            let during = try stack.hv(["vm", "list"], as: Stack.viewerUser)
            #expect(during.status == 5, "\(during)")
            #expect(during.stderr.contains("libvirt"))
            #expect(during.stderr.contains("fix:"))

            let restarted = try run([Environment.root + "/scripts/start-services.sh"])
            #expect(restarted.status == 0, "\(restarted)")
            let back = try waitUntil(30, every: 0.5) { try stack.hv(["vm", "list"], as: Stack.viewerUser).status == 0 }
            #expect(back, "the broker did not reconnect to libvirt")
        }
    }

    /// polkitd gone: every request is refused with what to do, nothing changes, and the same
    /// broker process serves again as soon as polkitd is back. A hung polkitd (SIGSTOP) is
    /// refused after --polkit-timeout instead of holding the caller for ever.
    @Test func polkitdStoppedOrHungRefusesEveryRequestUntilItIsBack() throws {
        let broker = try FaultBroker(stack: try Stack.shared.get())
        try broker.start(["--polkit-timeout", "3"])
        defer { try? HostDaemons.startPolkitd() }
        #expect(try broker.hv(["vm", "list"], as: Stack.operatorUser).status == 0)

        try HostDaemons.stopPolkitd()
        for user in [Stack.operatorUser, Stack.viewerUser] {
            let refused = try broker.hv(["vm", "list"], as: user)
            #expect(refused.status == 5, "\(refused)")
            #expect(refused.stderr.contains("polkit could not be asked, so the request was refused"), "\(refused)")
            #expect(refused.stderr.contains("fix: start the system D-Bus and polkitd"), "\(refused)")
        }
        let create = try broker.hv(["vm", "create", "hv-it-f-nopolkit", "--memory", "64M", "--disk", "1G"], as: Stack.operatorUser)
        #expect(create.status == 5, "\(create)")
        #expect(try !broker.isDefined("hv-it-f-nopolkit"), "nothing changes without polkit's answer")

        try HostDaemons.startPolkitd()
        #expect(try broker.hv(["vm", "list"], as: Stack.operatorUser).status == 0, "served again when polkitd returns")

        try HostDaemons.signal("polkitd", SIGSTOP)
        let hung = try broker.hv(["vm", "list"], as: Stack.operatorUser, timeout: 60)
        try HostDaemons.signal("polkitd", SIGCONT)
        #expect(hung.status == 5, "\(hung)")
        #expect(hung.stderr.contains("polkitd did not answer within 3 s"), "\(hung)")
        #expect(hung.stderr.contains("restart it"), "\(hung)")
        #expect(try broker.hv(["vm", "list"], as: Stack.operatorUser).status == 0)
        #expect(broker.isRunning, "the same broker process served throughout")
    }

    /// libvirtd killed while a machine is being made, between its disk and its definition: the
    /// caller gets libvirt's loss as the error, and once libvirtd is back, no disk is left without
    /// its machine. The same broker process serves throughout.
    @Test func libvirtdKilledInTheMiddleOfACreateLeavesNoDiskBehind() throws {
        let broker = try FaultBroker(stack: try Stack.shared.get())
        try broker.start()
        #expect(try broker.hv(["pool", "list"], as: Stack.operatorUser).status == 0)
        // Killed (SIGKILL, straight from this process) the moment the disk appears; should the
        // definition still have slipped in, the cut is tried again.
        var cut = false
        for attempt in 1...5 where !cut {
            let machine = "hv-it-f-libvirt\(attempt)"
            let libvirtd = try HostDaemons.pid("libvirtd")
            let outcome = try cutShort(machine, broker: broker) {
                kill(libvirtd, SIGKILL)
                try HostDaemons.restartLibvirtd()
            }
            if outcome.status != 0 {
                #expect(outcome.stderr.contains("libvirt"), "the error names libvirt: \(outcome)")
            }
            // The next request reconnects, and the reconnection takes back what the change left.
            #expect(try broker.hv(["vm", "list"], as: Stack.operatorUser).status == 0)
            try expectWhole(machine, broker)
            cut = try !broker.isDefined(machine)
        }
        #expect(cut, "in five tries libvirtd was never killed between the disk and the definition")
        #expect(broker.isRunning)
    }

    /// libvirtd killed during a snapshot and during an ISO upload: each call returns (an error
    /// or its result), and the broker answers again once libvirtd is back.
    @Test func libvirtdKilledDuringASnapshotOrAnUploadIsSurvived() throws {
        let stack = try Stack.shared.get()
        let broker = try FaultBroker(stack: stack)
        try broker.start()
        let name = "hv-it-f-snap"
        try #require(try broker.hv(["vm", "create", name, "--memory", "64M", "--disk", "1G"], as: Stack.operatorUser).status == 0)
        let snapshot = Background { try broker.hv(["snapshot", "create", name, "s1"], as: Stack.operatorUser) }
        usleep(20_000)
        try HostDaemons.restartLibvirtd()
        let snapshotted = try snapshot.value()
        #expect(snapshotted.status == 0 || snapshotted.stderr.contains("libvirt"), "\(snapshotted)")
        let listed = try broker.hv(["snapshot", "list", name], as: Stack.operatorUser)
        #expect(listed.status == 0, "\(listed)")
        if snapshotted.status == 0 { #expect(listed.stdout.contains("s1"), "\(listed)") }

        // An upload does not need libvirt: it completes while libvirtd restarts.
        let image = try randomFile(broker.base + "/upload.iso", mebibytes: 96)
        let upload = Background {
            try FaultTests.upload(image.path, name: "hv-it-f-up.iso", sha256: image.sha256, broker: broker, stack: stack)
        }
        #expect(waitForFile(60) { self.partialUploads(broker).isEmpty == false }, "the upload started")
        try HostDaemons.restartLibvirtd()
        let uploaded = try upload.value()
        #expect(uploaded.error == nil, "\(uploaded)")
        #expect(try broker.hv(["iso", "list"], as: Stack.viewerUser).stdout.contains("hv-it-f-up.iso"))
        #expect(broker.isRunning)
    }

    /// The broker killed with SIGKILL between a machine's disk and its definition, and in the
    /// middle of an upload: at its next start it reports and removes what it provably made
    /// (the journal names the disk; the upload's temporary file has the library's own prefix).
    @Test func aBrokerKilledInTheMiddleCleansUpAtItsNextStart() throws {
        let stack = try Stack.shared.get()
        let broker = try FaultBroker(stack: stack)
        try broker.start()
        #expect(try broker.hv(["pool", "list"], as: Stack.operatorUser).status == 0)
        // libvirtd is held still (SIGSTOP, sent straight from this process) the moment the disk
        // appears, so that the definition can't slip in while the broker dies. Should it still
        // have (the broker was quicker), the next start keeps that disk, and the cut is tried again.
        let libvirtd = try HostDaemons.pid("libvirtd")
        var removed = false
        for attempt in 1...5 where !removed {
            let machine = "hv-it-f-killed\(attempt)"
            let outcome = try cutShort(machine, broker: broker) {
                kill(libvirtd, SIGSTOP)
                broker.killHard()
                kill(libvirtd, SIGCONT)
            }
            #expect(outcome.status != 0, "the caller sees its connection go: \(outcome)")
            #expect(broker.pendingRecords.count == 1, "the journal names the half-made machine: \(broker.pendingRecords)")
            try broker.start()
            #expect(waitUntil(30, { broker.logText.contains("volume=\(FaultBroker.pool)/\(machine)-disk0.qcow2") }), "\(broker.logText)")
            try expectWhole(machine, broker)
            removed = broker.logText.contains("removed a volume left by a change that was cut short")
        }
        #expect(removed, "in five tries the broker was never cut between the disk and the definition: \(broker.logText)")

        let image = try randomFile(broker.base + "/killed.iso", mebibytes: 256)
        let upload = Background {
            try FaultTests.upload(image.path, name: "hv-it-f-killed.iso", sha256: image.sha256, broker: broker, stack: stack)
        }
        #expect(waitForFile(60) { self.partialUploads(broker).isEmpty == false })
        broker.killHard()
        _ = try? upload.value()
        #expect(!partialUploads(broker).isEmpty, "the copy was cut short")
        try broker.start()
        #expect(waitUntil(30, { broker.logText.contains("removed a partial upload left by an interrupted Iso.Add") }), "\(broker.logText)")
        #expect(partialUploads(broker).isEmpty)
        #expect(try !broker.hv(["iso", "list"], as: Stack.viewerUser).stdout.contains("hv-it-f-killed.iso"))
    }

    /// Full file systems: the ISO library, the broker's journal (its state directory) and the
    /// image pool. Each refusal says what was full, nothing is left half-written, and the same
    /// request succeeds once there is room.
    @Test func aFullFileSystemIsRefusedClearlyAndLeavesNothing() throws {
        let stack = try Stack.shared.get()
        let broker = try FaultBroker(stack: stack)
        try broker.start()
        #expect(try broker.hv(["pool", "list"], as: Stack.operatorUser).status == 0)

        let isos = broker.state + "/isos"
        try mountSmall(isos, size: "8m")
        let big = try randomFile(broker.base + "/big.iso", mebibytes: 32)
        let refused = try FaultTests.upload(big.path, name: "hv-it-f-big.iso", sha256: big.sha256, broker: broker, stack: stack)
        #expect(refused.error != nil, "\(refused)")
        #expect(refused.reason?.contains("No space left on device") == true, "\(refused)")
        #expect(partialUploads(broker).isEmpty, "nothing half-written is kept")
        let small = try randomFile(broker.base + "/small.iso", mebibytes: 1)
        let kept = try FaultTests.upload(small.path, name: "hv-it-f-small.iso", sha256: small.sha256, broker: broker, stack: stack)
        #expect(kept.error == nil, "a file that fits is still added: \(kept)")
        unmount(isos)

        let create = { try broker.hv(["vm", "create", "hv-it-f-full", "--memory", "64M", "--disk", "1G"], as: Stack.operatorUser) }
        let pending = broker.state + "/pending"
        try mountFull(pending)
        let journalFull = try create()
        #expect(journalFull.status != 0, "\(journalFull)")
        #expect(journalFull.stderr.contains("nothing was changed: the broker could not record the work"), "\(journalFull)")
        #expect(journalFull.stderr.contains("free space on the file system that holds the broker's state directory"), "\(journalFull)")
        #expect(!broker.imageExists("hv-it-f-full-disk0.qcow2"))
        unmount(pending)

        let images = broker.state + "/images"
        try mountFull(images)
        let imagesFull = try create()
        #expect(imagesFull.status != 0, "\(imagesFull)")
        #expect(imagesFull.stderr.lowercased().contains("space"), "the error says the disk is full: \(imagesFull)")
        unlink(images + "/filler")
        #expect(try !broker.isDefined("hv-it-f-full"))
        #expect(!broker.imageExists("hv-it-f-full-disk0.qcow2"))
        #expect(broker.pendingRecords.isEmpty, "\(broker.pendingRecords)")
        unmount(images)

        let created = try create()
        #expect(created.status == 0, "with room again the same request succeeds: \(created)")
        #expect(broker.isRunning)
    }

    // MARK: Helpers

    /// Starts `hv vm create MACHINE` and runs `fault` as soon as its disk appears, before the
    /// machine is defined; returns what `hv` printed.
    private func cutShort(_ machine: String, broker: FaultBroker, fault: () throws -> Void) throws -> Output {
        let create = Background {
            try broker.hv(["vm", "create", machine, "--memory", "64M", "--disk", "1G"], as: Stack.operatorUser)
        }
        let appeared = waitForFile(60) { broker.imageExists(machine + "-disk0.qcow2") }
        try #require(appeared, "the disk of \(machine) was never made")
        try fault()
        return try create.value()
    }

    /// A machine is whole or absent: defined with its disk, or neither; no journal record stays.
    private func expectWhole(_ machine: String, _ broker: FaultBroker) throws {
        let defined = try broker.isDefined(machine)
        #expect(broker.imageExists(machine + "-disk0.qcow2") == defined, "defined: \(defined); log: \(broker.logText)")
        #expect(waitUntil(10, { broker.pendingRecords.isEmpty }), "\(broker.pendingRecords)")
    }

    private func partialUploads(_ broker: FaultBroker) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: broker.state + "/isos")) ?? []).filter { $0.hasPrefix(".upload-") }
    }

    /// Hands `path` to the broker's upload socket as the operator, as `hv iso add` does.
    static func upload(_ path: String, name: String, sha256: String, broker: FaultBroker, stack: Stack) throws -> (error: String?, reason: String?) {
        let calls: [[String: Any]] = [[
            "method": "org.hypernixos.Iso.Add", "parameters": ["name": name, "sha256": sha256], "upload": path,
        ]]
        let file = broker.base + "/calls-\(UUID().uuidString.prefix(6)).json"
        try JSONSerialization.data(withJSONObject: calls).write(to: URL(fileURLWithPath: file))
        chmod(file, 0o644)
        defer { unlink(file) }
        let output = try run(["/usr/bin/python3", MatrixBroker.client, broker.socket, broker.uploadSocket, file], as: Stack.operatorUser, timeout: 600)
        guard let data = output.stdout.data(using: .utf8), let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]],
            let first = list.first
        else { throw SetupError("the upload client failed: \(output)") }
        return (first["error"] as? String, first["reason"] as? String)
    }

    /// A file of random bytes the operator can read, and its SHA-256.
    private func randomFile(_ path: String, mebibytes: Int) throws -> (path: String, sha256: String) {
        try #require(try run(["/bin/dd", "if=/dev/urandom", "of=\(path)", "bs=1M", "count=\(mebibytes)", "status=none"]).status == 0)
        chmod(path, 0o644)
        let digest = try run(["/usr/bin/sha256sum", path]).stdout.split(separator: " ").first.map(String.init) ?? ""
        return (path, digest)
    }

    private func mountSmall(_ path: String, size: String) throws {
        _ = try? run(["/bin/umount", path])
        let mounted = try run(["/bin/mount", "-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", path])
        try #require(mounted.status == 0, "cannot mount a small tmpfs on \(path): \(mounted)")
    }

    /// A small file system on `path`, filled to the last block.
    private func mountFull(_ path: String) throws {
        try mountSmall(path, size: "64k")
        _ = try run(["/bin/dd", "if=/dev/zero", "of=\(path)/filler", "bs=4k"])
    }

    private func unmount(_ path: String) {
        _ = try? run(["/bin/umount", "-l", path])
    }
}
