import Foundation
import HVClient
import HVProtocol
import HVServerTesting
import HVSystem
import HVTestSupport
import Testing

/// The client side of the consoles: the relay `hv console` and `hv vnc` run, the terminal's raw
/// mode and its restoration, and the local listener that serves a display to one user.
@Suite(.serialized) struct ConsoleClientTests {
    @Test func theRelayCopiesBothWaysAndStopsAtTheEscape() async throws {
        let (terminal, relayLeft) = try Descriptor.socketPair(name: "the terminal")
        let (relayRight, console) = try Descriptor.socketPair(name: "the console")
        let relay = Relay(left: Relay.End(relayLeft), right: Relay.End(relayRight), escape: 0x1D)
        let outcome = started { relay.run() }
        let (prompt, typed) = try await onThread {
            try console.sendAll(Array("login: ".utf8))
            let prompt = try readBytes(terminal, 7)
            try terminal.sendAll(Array("root\r".utf8) + [0x1D] + Array("never sent".utf8))
            return (prompt, try readBytes(console, 5))
        }
        #expect(prompt == Array("login: ".utf8))
        #expect(typed == Array("root\r".utf8))
        #expect(await outcome.first { _ in true } == .escaped)
        withExtendedLifetime([relayLeft, relayRight]) {}
    }

    @Test func theRelayEndsWhenTheConsoleCloses() async throws {
        let (terminal, relayLeft) = try Descriptor.socketPair(name: "the terminal")
        let (relayRight, console) = try Descriptor.socketPair(name: "the console")
        let relay = Relay(left: Relay.End(relayLeft), right: Relay.End(relayRight), escape: 0x1D)
        let outcome = started { relay.run() }
        console.close()
        #expect(await outcome.first { _ in true } == .rightClosed)
        withExtendedLifetime([terminal, relayLeft, relayRight]) {}
    }

    /// Raw mode on a pseudo-terminal: no line editing, no echo, no signals from keys; restoring
    /// gives back exactly the settings it had.
    @Test func rawModeIsEnteredAndRestored() throws {
        let (controller, terminal) = try pseudoTerminal()
        var before = termios()
        #expect(tcgetattr(terminal.raw, &before) == 0)
        #expect(before.c_lflag & tcflag_t(ICANON) != 0)
        let raw = RawTerminal(terminal.raw)
        raw.enter()
        #expect(raw.isRaw)
        var during = termios()
        #expect(tcgetattr(terminal.raw, &during) == 0)
        #expect(during.c_lflag & tcflag_t(ICANON | ECHO | ISIG) == 0)
        raw.restore()
        #expect(!raw.isRaw)
        var after = termios()
        #expect(tcgetattr(terminal.raw, &after) == 0)
        #expect(after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag && after.c_oflag == before.c_oflag)
        withExtendedLifetime(controller) {}
    }

    @Test func aDescriptorThatIsNoTerminalIsLeftAlone() throws {
        let (one, _) = try Descriptor.socketPair(name: "not a terminal")
        let raw = RawTerminal(one.raw)
        raw.enter()
        #expect(!raw.isRaw)
    }

    /// Each viewer on the loopback port gets a display connection of its own, relayed both ways.
    @Test func viewersOnTheLoopbackPortGetTheDisplay() async throws {
        let forwarder = try DisplayForwarder(.loopback(port: 0))
        guard case .loopback(let port) = forwarder.place else { throw SetupError("not on loopback: \(forwarder.place)") }
        #expect(port != 0)
        let opened = Recorder<Int>()
        let serving = started {
            forwarder.serve(open: { () throws(HVError) in try Self.echoingDisplay(opened) }, report: { _ in })
        }
        let heard = try await onThread {
            try (0..<2).map { _ in
                let connection = try Descriptor.connected(to: .loopback(port: port))
                let banner = try readBytes(connection, 12)
                try connection.sendAll(Array("RFB 003.008\n".utf8))
                return [banner, try readBytes(connection, 12)]
            }
        }
        #expect(heard == Array(repeating: Array(repeating: Array("RFB 003.008\n".utf8), count: 2), count: 2))
        #expect(opened.all.count == 2)
        forwarder.stop()
        _ = await serving.first { _ in true }
    }

    @Test func theUnixSocketIsForItsUserOnly() async throws {
        let directory = try TemporaryDirectory("hv-vnc")
        defer { directory.remove() }
        let path = directory.file("display.sock")
        let forwarder = try DisplayForwarder(.unix(path: path))
        var status = stat()
        #expect(lstat(path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        let serving = started {
            forwarder.serve(open: { () throws(HVError) in try Self.echoingDisplay(Recorder()) }, report: { _ in })
        }
        let banner = try await onThread { try readBytes(try Descriptor.connected(to: .unix(path: path)), 12) }
        #expect(banner == Array("RFB 003.008\n".utf8))
        forwarder.stop()
        _ = await serving.first { _ in true }
    }

    /// A display that greets like a VNC server and echoes what the viewer sends, on a thread of its own.
    static func echoingDisplay(_ opened: Recorder<Int>) throws(HVError) -> Descriptor {
        opened.append(1)
        do {
            let (display, viewer) = try Descriptor.socketPair(name: "a display")
            try display.sendAll(Array("RFB 003.008\n".utf8))
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 256)
                while let count = try? display.read(into: &buffer), count > 0 { try? display.sendAll(Array(buffer[..<count])) }
            }
            return viewer
        } catch {
            throw HVError(.failed, "\(error)")
        }
    }
}

/// Starts blocking work on a thread of its own at once, whatever the cooperative threads are
/// doing; its result arrives on the stream when it ends.
func started<Value: Sendable>(_ body: @escaping @Sendable () -> Value) -> AsyncStream<Value> {
    let (result, continuation) = AsyncStream.makeStream(of: Value.self)
    Thread.detachNewThread {
        continuation.yield(body())
        continuation.finish()
    }
    return result
}

/// A new pseudo-terminal: the controlling side and the terminal a program would run on. Opened
/// through /dev/ptmx, as posix_openpt does: Swift's Glibc module leaves posix_openpt, grantpt and
/// ptsname out, so the two requests they make are asked directly.
func pseudoTerminal() throws -> (controller: Descriptor, terminal: Descriptor) {
    // TIOCSPTLCK and TIOCGPTN: _IOW('T', 0x31, int) and _IOR('T', 0x30, unsigned int).
    let unlockRequest: UInt = 0x4004_5431
    let numberRequest: UInt = 0x8004_5430
    let controller = try Descriptor.open("/dev/ptmx", O_RDWR | O_NOCTTY)
    var unlocked: Int32 = 0
    var number: UInt32 = 0
    guard ioctl(controller.raw, unlockRequest, &unlocked) == 0, ioctl(controller.raw, numberRequest, &number) == 0 else {
        throw SetupError("cannot set up a pseudo-terminal: \(String(cString: strerror(errno)))")
    }
    return (controller, try Descriptor.open("/dev/pts/\(number)", O_RDWR | O_NOCTTY))
}
