import Foundation
import HVTestSupport
import Testing

/// A running TCG guest with a display, behind a broker of its own on real libvirt, so that one
/// test can stop that broker under an attached console and start it again. It is made before the
/// suite's first test and removed after its last (`.consoleMachine`).
final class ConsoleMachine: @unchecked Sendable {
    static let name = "hv-it-console"
    let stack: Stack
    let broker: MatrixBroker
    /// World-writable: where the operator's files (screenshots, flags) go.
    let scratch: String
    let driver: String

    /// The machine of the suite being run.
    @TaskLocal static var current: ConsoleMachine?

    /// The Python with pexpect, vncdotool and Pillow that scripts/install-deps.sh sets up for the
    /// test users ($HV_TEST_PYTHON to use another).
    static let python = ProcessInfo.processInfo.environment["HV_TEST_PYTHON"] ?? "/opt/hypernixos-test-python/bin/python3"

    init() throws {
        stack = try Stack.shared.get()
        broker = try MatrixBroker(stack: stack, name: "consoles", operations: [], libvirtUri: "qemu:///system")
        scratch = broker.base + "/scratch"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        chmod(scratch, 0o1777)
        driver = try Stack.consoleSession.get()
        Self.removeDomain()
        let isos = broker.base + "/state/isos"
        try FileManager.default.createDirectory(atPath: isos, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: stack.stateDirectory + "/isos/" + stack.isoName, toPath: isos + "/" + stack.isoName)
        try run(["/bin/chmod", "-R", "a+rX", broker.base])
        let spec = scratch + "/machine.yaml"
        try """
            name: \(Self.name)
            vcpus: 1
            memory: 256MiB
            disks: [{name: root, size: 1GiB}]
            cdrom: \(stack.isoName)
            graphics: {type: vnc}
            serial: true
            """.write(toFile: spec, atomically: true, encoding: .utf8)
        chmod(spec, 0o644)
        for step in [["vm", "apply", spec], ["vm", "start", Self.name]] {
            let output = try hv(step)
            guard output.status == 0 else { throw SetupError("\(step): \(output)") }
        }
        var log = ""
        guard try waitUntil(240, every: 2, {
            log = try self.hv(["vm", "log", Self.name]).stdout
            return log.contains(Stack.marker) && log.contains("/ # ")
        }) else { throw SetupError("the guest did not reach its shell:\n\(log)") }
    }

    /// Runs `hv` as `user` (the operator by default) against this machine's broker.
    func hv(_ arguments: [String], as user: String = Stack.operatorUser) throws -> Output {
        try broker.hv(stack, arguments, as: user)
    }

    /// Runs one scenario of the pexpect driver as the operator; its JSON, or a failure with its output.
    func session(_ arguments: [String], timeout: TimeInterval = 300) throws -> [String: Any] {
        let output = try run(
            [Self.python, driver, stack.bin + "/hv", Self.name] + arguments, as: Stack.operatorUser,
            environment: ["HV_SOCKET": broker.socket], timeout: timeout
        )
        guard output.status == 0, let object = try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any] else {
            throw SetupError("console-session.py \(arguments.joined(separator: " ")): \(output)")
        }
        return object
    }

    /// Stops the broker at once (SIGKILL), as a crash would, and starts it again on the same state.
    func restartBroker() throws {
        _ = try run(["/usr/bin/pkill", "-KILL", "-f", "hv-broker --socket " + broker.socket])
        try? FileManager.default.removeItem(atPath: broker.socket)
        try? FileManager.default.removeItem(atPath: broker.uploadSocket)
        try broker.start()
    }

    /// Stops and deletes the machine, then its broker and its pool.
    func remove() {
        _ = try? hv(["vm", "kill", Self.name], as: Stack.adminUser)
        _ = try? hv(["vm", "delete", Self.name, "--remove-disks"], as: Stack.adminUser)
        _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"])
        Self.removeDomain()
    }

    static func removeDomain() {
        for command in [["destroy", name], ["undefine", name, "--nvram"], ["pool-destroy", "hv-it-consoles"], ["pool-undefine", "hv-it-consoles"]] {
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system"] + command)
        }
    }
}

/// Boots the console machine once around a whole suite, and removes it afterwards.
struct ConsoleMachineScope: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let machine = try ConsoleMachine()
        defer { machine.remove() }
        try await ConsoleMachine.$current.withValue(machine) { try await function() }
    }
}

extension Trait where Self == ConsoleMachineScope {
    static var consoleMachine: Self { Self() }
}

/// The interactive consoles end to end, as a member of hypervisor-operators: `hv console` in a
/// pseudo-terminal driven by pexpect, `hv vnc` with vncdotool as the viewer, `hv vm screenshot`;
/// and the refusals of everyone else.
@Suite(.serialized, .enabled(if: Environment.enabled), .consoleMachine)
struct ConsoleAttachTests {
    @Test func anOperatorTypesIntoTheGuestAndDetaches() throws {
        let machine = try #require(ConsoleMachine.current)
        let seen = try machine.session(["attach"])
        #expect(seen["echoed"] as? Bool == true, "\(seen)")
        #expect(seen["rawWhileAttached"] as? Bool == true, "\(seen)")
        #expect(seen["ctrlCReachedTheGuest"] as? Bool == true, "Ctrl-C goes to the guest, not to hv: \(seen)")
        #expect((seen["greeting"] as? String)?.contains("stty rows 24 cols 80") == true, "\(seen)")
        #expect(seen["after"] as? String == seen["before"] as? String, "Ctrl-] restores the terminal: \(seen)")
        let audit = try String(contentsOfFile: machine.broker.auditLog, encoding: .utf8)
        #expect(audit.contains("\"result\":\"session ended: the caller detached;"), "the session's end is recorded")
    }

    @Test func aSecondAttachIsRefusedAndForceTakesOver() throws {
        let machine = try #require(ConsoleMachine.current)
        let seen = try machine.session(["takeover"])
        #expect(seen["refusedStatus"] as? Int == 6, "\(seen)")
        let refusal = seen["refusedError"] as? String ?? ""
        #expect(refusal.contains("the console of '\(ConsoleMachine.name)' is in use by another session"), "\(refusal)")
        #expect(refusal.contains("use --force to take it over"), "\(refusal)")
        #expect((seen["forcedGreeting"] as? String)?.contains("taken over from another session") == true, "\(seen)")
        #expect((seen["firstWasTold"] as? String)?.contains("another session took it over") == true, "\(seen)")
        #expect(seen["after"] as? String == seen["before"] as? String, "the first terminal is restored: \(seen)")
        #expect(seen["echoedAfterTakeover"] as? Bool == true, "\(seen)")
    }

    @Test(arguments: ["SIGTERM", "SIGHUP", "SIGINT"])
    func aSignalRestoresTheTerminal(signal: String) throws {
        let machine = try #require(ConsoleMachine.current)
        let seen = try machine.session(["signal", signal])
        #expect(seen["rawWhileAttached"] as? Bool == true, "\(seen)")
        #expect(seen["after"] as? String == seen["before"] as? String, "\(signal): \(seen)")
    }

    /// The broker dies under an attached console: hv tells the operator, and the terminal is
    /// restored; a new broker serves the still-running machine again.
    @Test func theTerminalIsRestoredWhenTheBrokerGoesAway() throws {
        let machine = try #require(ConsoleMachine.current)
        let flag = machine.scratch + "/attached"
        try? FileManager.default.removeItem(atPath: flag)
        let restarted = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            if waitUntil(120, every: 0.2, { FileManager.default.fileExists(atPath: flag) }) { try? machine.restartBroker() }
            restarted.signal()
        }
        let seen: [String: Any]
        do {
            seen = try machine.session(["wait-close", flag])
        } catch {
            restarted.wait()
            throw error
        }
        restarted.wait()
        #expect((seen["told"] as? String)?.contains("was closed") == true, "\(seen)")
        #expect(seen["after"] as? String == seen["before"] as? String, "\(seen)")
        #expect(try machine.session(["attach"])["echoed"] as? Bool == true, "a new broker attaches again")
    }

    /// vncdotool, as the operator, through `hv vnc` on a loopback port: it gets the screen. Nothing
    /// listens on a TCP address other than loopback meanwhile, and QEMU listens on none at all.
    @Test func aVncViewerGetsTheScreenThroughHvVnc() throws {
        let machine = try #require(ConsoleMachine.current)
        let port = Int.random(in: 42_000..<48_000)
        let command = [machine.stack.bin + "/hv", "vnc", ConsoleMachine.name, "--port", String(port)]
        try spawn(
            ["/usr/sbin/runuser", "-u", Stack.operatorUser, "--", "/usr/bin/env", "HV_SOCKET=" + machine.broker.socket] + command,
            log: machine.scratch + "/vnc.log"
        )
        defer { _ = try? run(["/usr/bin/pkill", "-f", command.joined(separator: " ")]) }
        let listening = try waitUntil(30, every: 0.2) {
            try run(["/usr/bin/ss", "-ltnH"]).stdout.contains("127.0.0.1:\(port) ")
        }
        try #require(listening, "\((try? String(contentsOfFile: machine.scratch + "/vnc.log", encoding: .utf8)) ?? "")")

        let sockets = try run(["/usr/bin/ss", "-ltnpH"]).stdout.split(separator: "\n")
        let ours = sockets.filter { $0.contains("\"hv\"") || $0.contains("qemu-system") }
        #expect(ours.count == 1 && ours.allSatisfy { $0.contains("127.0.0.1:\(port) ") }, "\(ours)")
        #expect(!sockets.contains { $0.contains("qemu-system") }, "the display listens on no TCP address: \(sockets)")

        let shot = machine.scratch + "/vnc.png"
        try? FileManager.default.removeItem(atPath: shot)
        let captured = try run(
            [ConsoleMachine.python, "-c", Self.vncdo, "-s", "127.0.0.1::\(port)", "-t", "60", "capture", shot],
            as: Stack.operatorUser, timeout: 120
        )
        #expect(captured.status == 0, "\(captured)")
        let picture = try Self.describe(shot)
        #expect(picture.width >= 320 && picture.height >= 200, "\(picture)")

        // Another user connecting to the port is turned away before the broker is asked.
        let stranger = try run(["/usr/bin/python3", "-c", Self.bannerScript, String(port)], as: Stack.viewerUser)
        #expect(stranger.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "", "\(stranger)")
        let log = try String(contentsOfFile: machine.scratch + "/vnc.log", encoding: .utf8)
        #expect(log.contains("turned away a viewer that is not your user"), "\(log)")
    }

    /// The Unix socket hv vnc makes is the operator's alone, and a viewer there gets the VNC banner.
    @Test func hvVncServesAUnixSocketOnlyItsUserCanOpen() throws {
        let machine = try #require(ConsoleMachine.current)
        let path = machine.scratch + "/vnc-\(UUID().uuidString.prefix(6)).sock"
        let command = [machine.stack.bin + "/hv", "vnc", ConsoleMachine.name, "--listen", "unix:" + path]
        try spawn(
            ["/usr/sbin/runuser", "-u", Stack.operatorUser, "--", "/usr/bin/env", "HV_SOCKET=" + machine.broker.socket] + command,
            log: machine.scratch + "/vnc-unix.log"
        )
        defer { _ = try? run(["/usr/bin/pkill", "-f", command.joined(separator: " ")]) }
        try #require(try waitUntil(30, every: 0.2) { FileManager.default.fileExists(atPath: path) })
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect(attributes[.posixPermissions] as? Int == 0o600)
        let banner = try run(["/usr/bin/python3", "-c", Self.unixBannerScript, path], as: Stack.operatorUser)
        #expect(banner.stdout.hasPrefix("RFB 003.0"), "\(banner)")
    }

    @Test func aScreenshotIsAPNGOfWhatTheScreenShows() throws {
        let machine = try #require(ConsoleMachine.current)
        let file = machine.scratch + "/shot.png"
        try? FileManager.default.removeItem(atPath: file)
        let taken = try machine.hv(["vm", "screenshot", ConsoleMachine.name, "-o", file])
        #expect(taken.status == 0, "\(taken)")
        let picture = try Self.describe(file)
        #expect(taken.stdout.contains("(\(picture.width)x\(picture.height) PNG)"), "\(taken)")
        #expect(picture.brightest > 0, "the guest's screen is not a black frame: \(picture)")
    }

    /// A viewer and a user in no group get none of it: denied, naming the action, and no socket.
    @Test(arguments: [Stack.viewerUser, Stack.strangerUser])
    func othersAreRefusedEveryConsoleAction(user: String) throws {
        let machine = try #require(ConsoleMachine.current)
        let name = ConsoleMachine.name
        for (arguments, action) in [
            (["console", name], "org.hypernixos.vm.console-attach"), (["vnc", name], "org.hypernixos.vm.graphics"),
            (["vm", "screenshot", name, "-o", machine.scratch + "/\(user).png"], "org.hypernixos.vm.screenshot"),
        ] {
            let output = try machine.hv(arguments, as: user)
            #expect(output.status == 4, "\(user) \(arguments): \(output)")
            #expect(output.stderr.contains(action), "\(user) \(arguments): \(output)")
        }
        #expect(!FileManager.default.fileExists(atPath: machine.scratch + "/\(user).png"))
    }

    /// Size and brightest grey level of a PNG, as Pillow reads it.
    static func describe(_ file: String) throws -> (width: Int, height: Int, brightest: Int) {
        let output = try run([
            ConsoleMachine.python, "-c",
            "import sys; from PIL import Image; i = Image.open(sys.argv[1]); print(i.format, i.width, i.height, i.convert('L').getextrema()[1])",
            file,
        ])
        let fields = output.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard output.status == 0, fields.count == 4, fields[0] == "PNG", let width = Int(fields[1]), let height = Int(fields[2]),
            let brightest = Int(fields[3])
        else { throw SetupError("not a PNG: \(output)") }
        return (width, height, brightest)
    }

    /// vncdotool's `vncdo` command, wherever pip put its script.
    static let vncdo = "import sys; from vncdotool.command import vncdo; sys.argv[0] = 'vncdo'; vncdo()"

    /// Connects to 127.0.0.1:PORT and prints what arrives within 5 s (nothing when turned away).
    static let bannerScript = """
        import socket, sys
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
        try:
            print(s.recv(64).decode(errors="replace"))
        except (socket.timeout, ConnectionResetError):
            pass
        """

    static let unixBannerScript = """
        import socket, sys
        s = socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect(sys.argv[1])
        print(s.recv(64).decode(errors="replace"))
        """
}
