import Foundation
import Glibc

/// The benchmark guest's shell on its serial port, reached through the Unix socket QEMU listens on.
final class GuestConsole {
    private let descriptor: Int32
    private var output: [UInt8] = []
    private var commands = 0

    /// Connects (QEMU creates the socket as the guest starts) and waits until the shell answers.
    init(socket path: String, bootTimeoutSeconds: Double = 300) throws(BenchError) {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError(.measurementFailed, "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8.prefix(raw.count - 1)) + [0])
        }
        let connectDeadline = Stopwatch.now() + 30_000_000_000
        while true {
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
            }
            if connected { break }
            guard Stopwatch.now() < connectDeadline else {
                // Every property is set: deinit closes the socket.
                throw BenchError(.measurementFailed, "cannot connect to the guest's console at \(path): \(String(cString: strerror(errno)))")
            }
            usleep(200_000)
        }
        // The shell starts once the guest booted; ask until it answers. The typed line shows the
        // sum unexpanded, so only the shell's answer matches.
        let deadline = Stopwatch.now() + UInt64(bootTimeoutSeconds * 1e9)
        while Stopwatch.now() < deadline {
            send("echo HV-BENCH-UP-$((40+2))\n")
            if (try? waitFor("HV-BENCH-UP-42", timeoutSeconds: 3)) != nil { return }
        }
        throw BenchError(.measurementFailed, "the guest's shell did not answer within \(Int(bootTimeoutSeconds)) s; it printed: \(text.suffix(2000))")
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    private var text: String { String(decoding: output, as: UTF8.self) }

    private func send(_ line: String) {
        let bytes = Array(line.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { return }
            sent += count
        }
    }

    /// Runs `command` in the guest's shell and waits until it finished.
    func run(_ command: String, timeoutSeconds: Double) throws(BenchError) {
        commands += 1
        let number = commands * 1000 + 1
        send("\(command); echo HV-BENCH-DONE-$((\(commands)*1000+1))\n")
        try waitFor("HV-BENCH-DONE-\(number)\r", timeoutSeconds: timeoutSeconds, or: "HV-BENCH-DONE-\(number)\n")
    }

    /// Reads until the output holds `needle` (or `alternative`).
    private func waitFor(_ needle: String, timeoutSeconds: Double, or alternative: String? = nil) throws(BenchError) {
        let deadline = Stopwatch.now() + UInt64(timeoutSeconds * 1e9)
        while Stopwatch.now() < deadline {
            let current = text
            if current.contains(needle) || alternative.map(current.contains) == true {
                output.removeAll()
                return
            }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 200) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { throw BenchError(.measurementFailed, "the guest's console closed; it printed: \(text.suffix(2000))") }
            output += buffer[0..<count]
        }
        throw BenchError(.measurementFailed, "no \(needle) from the guest within \(Int(timeoutSeconds)) s; it printed: \(text.suffix(2000))")
    }
}
