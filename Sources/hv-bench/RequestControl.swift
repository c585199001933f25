import Foundation
import Glibc
import HVPolkit
import HVSystem

/// The line-by-line channel between `hv-bench request` (root) and the operator process it runs:
/// a Unix socket in the benchmark's scratch directory. Lines go both ways as text.
enum ControlChannel {
    /// Connects to the benchmark's control socket; returns a stream to read and one to write.
    static func connect(_ path: String) -> (input: UnsafeMutablePointer<FILE>, output: UnsafeMutablePointer<FILE>)? {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        var address = address(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            return nil
        }
        return streams(descriptor)
    }

    /// Two buffered streams over one socket: one to read, one (on a duplicate) to write.
    static func streams(_ descriptor: Int32) -> (input: UnsafeMutablePointer<FILE>, output: UnsafeMutablePointer<FILE>)? {
        guard let input = fdopen(descriptor, "r") else {
            close(descriptor)
            return nil
        }
        guard let output = fdopen(dup(descriptor), "w") else {
            fclose(input)
            return nil
        }
        return (input, output)
    }

    static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8.prefix(raw.count - 1)))
        }
        return address
    }

    /// One line without its newline; nil at the end of the stream or on a timeout.
    static func readLine(_ stream: UnsafeMutablePointer<FILE>) -> String? {
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        guard getline(&line, &capacity, stream) > 0, let line else { return nil }
        return String(cString: line).trimmingCharacters(in: .newlines)
    }

    static func writeLine(_ text: String, to stream: UnsafeMutablePointer<FILE>) {
        fputs(text + "\n", stream)
        fflush(stream)
    }
}

/// The operator process `hv-bench request` times round trips in: `hv-bench request-client
/// --control`, started with `setpriv` as the operator (its groups included, so polkitd's rules see
/// a member of hypervisor-operators), with one connection to the broker for its whole life.
final class OperatorSession {
    let pid: Int32
    private let process: ChildProcess
    private let input: UnsafeMutablePointer<FILE>
    private let output: UnsafeMutablePointer<FILE>

    init(user: OperatorAccount, socket: String, machine: String, directory: String) throws(BenchError) {
        let path = directory + "/control.sock"
        let listener = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = ControlChannel.address(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        defer { close(listener) }
        guard listener >= 0, bound == 0, listen(listener, 1) == 0, chown(path, user.uid, user.gid) == 0 else {
            throw BenchError(.measurementFailed, "cannot listen on \(path): \(String(cString: strerror(errno)))")
        }
        let arguments = user.command([
            PressureCommand.executable, "request-client", "--socket", socket, "--machine", machine, "--control", path,
        ])
        let command = Command(
            arguments[0], Array(arguments.dropFirst()), environment: Command.currentEnvironment, standardOutput: .inherit,
            standardError: .inherit, ownProcessGroup: false
        )
        do {
            process = try ChildProcess(command)
        } catch {
            throw BenchError(.measurementFailed, "\(error) (setpriv is part of util-linux)")
        }
        pid = process.pid
        var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        let accepted = poll(&ready, 1, 15_000) == 1 ? accept(listener, nil, nil) : -1
        guard accepted >= 0 else {
            _ = process.kill()
            throw BenchError(
                .measurementFailed, "the operator process did not connect within 15 s",
                fix: "the user must be able to run \(PressureCommand.executable)"
            )
        }
        var timeout = timeval(tv_sec: 120, tv_usec: 0)
        setsockopt(accepted, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let streams = ControlChannel.streams(accepted) else {
            _ = process.kill()
            throw BenchError(.measurementFailed, "cannot read the control socket")
        }
        (input, output) = streams
    }

    /// The operator process as polkit names it. It connected from hv-bench itself, so setpriv
    /// has already made it the operator.
    func subject(uid: uid_t) throws(BenchError) -> PolkitSubject {
        guard let startTime = processStartTime(pid) else {
            throw BenchError(.measurementFailed, "cannot read the start time of the operator process \(pid)")
        }
        return PolkitSubject(pid: pid, uid: uid, startTime: startTime)
    }

    /// `count` Vm.Info round trips, each timed in the operator process, one after the other.
    func roundTrips(_ count: Int) throws(BenchError) -> [UInt64] {
        ControlChannel.writeLine("\(count)", to: output)
        guard let line = ControlChannel.readLine(input) else {
            throw BenchError(.measurementFailed, "the operator process stopped answering")
        }
        let samples = line.split(separator: " ").compactMap { UInt64($0) }
        guard samples.count == count else {
            throw BenchError(.measurementFailed, "the operator's Vm.Info failed: \(line)")
        }
        return samples
    }

    func stop() {
        ControlChannel.writeLine("0", to: output)
        fclose(input)
        fclose(output)
        _ = try? process.finish(timeout: .seconds(5))
    }
}
