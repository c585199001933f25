import Foundation
import HVTestSupport

/// The test guest's shell on its serial port, reached through the Unix socket QEMU listens on.
final class SerialConsole {
    private let descriptor: Int32
    private var output: [UInt8] = []
    private var commands = 0

    /// Connects (QEMU creates the socket as the guest starts) and waits until the shell answers.
    init(socket path: String, bootTimeout: TimeInterval = 240) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SetupError("socket: \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8.prefix(raw.count - 1)) + [0])
        }
        let connected = waitUntil(30, every: 0.2) {
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
            }
        }
        guard connected else { throw SetupError("cannot connect to the console at \(path): \(errno)") }
        // The shell starts once the guest booted; ask until it answers. The typed line shows the
        // sum unexpanded, so only the shell's answer matches.
        let deadline = Date().addingTimeInterval(bootTimeout)
        while Date() < deadline {
            send("echo HV-BK-UP-$((40+2))\n")
            if (try? waitFor("HV-BK-UP-42", timeout: 3)) != nil { return }
        }
        throw SetupError("the guest's shell did not answer within \(Int(bootTimeout)) s; it printed: \(text.suffix(2000))")
    }

    deinit {
        close(descriptor)
    }

    var text: String { String(decoding: output, as: UTF8.self) }

    func send(_ line: String) {
        let bytes = Array(line.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { return }
            sent += count
        }
    }

    /// Runs `command` in the guest's shell and waits until it finished.
    func run(_ command: String, timeout: TimeInterval = 120) throws {
        commands += 1
        let number = commands * 1000 + 1
        send("\(command); echo HV-BK-DONE-$((\(commands)*1000+1))\n")
        try waitFor("HV-BK-DONE-\(number)\r", timeout: timeout, or: "HV-BK-DONE-\(number)\n")
    }

    /// Reads until the output holds `needle` (or `alternative`).
    func waitFor(_ needle: String, timeout: TimeInterval, or alternative: String? = nil) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let current = text
            if current.contains(needle) || alternative.map(current.contains) == true {
                output.removeAll()
                return
            }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 200) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { throw SetupError("the console closed; it printed: \(text.suffix(2000))") }
            output += buffer[0..<count]
        }
        throw SetupError("no \(needle) from the guest within \(Int(timeout)) s; it printed: \(text.suffix(2000))")
    }
}
