import CHVFDPassing
import Foundation
import HVProtocol
import HVSystem

#if canImport(Glibc)
import Glibc
#endif

/// A listening Unix stream socket served with plain blocking system calls on dedicated threads,
/// for the calls NIO cannot take (descriptors passed with SCM_RIGHTS).
final class UnixListener: Sendable {
    let socket: Descriptor

    /// Binds `path` (replacing a stale socket file, never anything else) and listens on it.
    /// It is published through `SocketPath`: bound under a staging name, then renamed.
    init(path: String, mode: UInt32, backlog: Int32 = 64) throws(HVError) {
        let staging = SocketPath.staging(path)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(staging.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw HVError(.invalidParameter, "socket path is too long: \(path)", fix: "use a shorter path")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755]
        )
        try SocketPath.requireSocketOrAbsent(path)
        try SocketPath.requireSocketOrAbsent(staging)
        unlink(staging)
        let socket: Descriptor
        do {
            socket = try Descriptor.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), name: path)
        } catch {
            throw Self.failure(error)
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket.raw, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(socket.raw, backlog) == 0, SocketPath.publish(path, mode: mode) else {
            let error = Self.failure(SystemError("listen on \(path)"))
            socket.close()
            unlink(staging)
            throw error
        }
        self.socket = socket
    }

    /// Adopts a socket that is already listening (passed by systemd), and closes it when done.
    init(adopting descriptor: Descriptor) throws(HVError) {
        var type: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        var listening: Int32 = 0
        var listeningLength = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor.raw, SOL_SOCKET, SO_TYPE, &type, &length) == 0, type == Int32(SOCK_STREAM.rawValue),
              getsockopt(descriptor.raw, SOL_SOCKET, SO_ACCEPTCONN, &listening, &listeningLength) == 0, listening == 1
        else {
            throw HVError(
                .failed, "descriptor \(descriptor.raw) is not a listening stream socket",
                fix: "pass the upload socket with ListenStream= in the socket unit"
            )
        }
        _ = fcntl(descriptor.raw, F_SETFD, FD_CLOEXEC)
        socket = descriptor
    }

    /// Waits for the next connection, or returns nil once `wake` has been signalled. Transient
    /// failures (a client that left before being accepted, too many open files) are waited out.
    func accept(wake: WakePipe) throws(HVError) -> Descriptor? {
        while true {
            switch wake.poll(socket, milliseconds: -1) {
            case .woken: return nil
            case .timedOut: continue
            case .ready: break
            }
            do {
                return Descriptor(try systemCall("accept a connection") { hv_accept_cloexec(socket.raw) }, name: "a connection")
            } catch {
                switch error.code {
                case EAGAIN, EWOULDBLOCK, ECONNABORTED, EPROTO:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    usleep(100_000)
                default:
                    throw Self.failure(error)
                }
            }
        }
    }

    func close() {
        socket.close()
    }

    static func failure(_ error: SystemError) -> HVError {
        HVError(.failed, "could not \(error.action): \(error.reason)")
    }
}

/// A pipe whose read end becomes readable, for good, once `signal()` is called: every thread
/// blocked in `poll` on it wakes up, which is how a server stops its blocking threads.
final class WakePipe: Sendable {
    private let readEnd: Descriptor
    private let writeEnd: Descriptor

    enum Outcome { case ready, woken, timedOut }

    init() throws(HVError) {
        do {
            (readEnd, writeEnd) = try Descriptor.pipe()
        } catch {
            throw UnixListener.failure(error)
        }
    }

    func signal() {
        _ = try? writeEnd.writeAll([1])
    }

    /// Waits until `descriptor` is readable (or has hung up), the pipe is signalled, or the time is up
    /// (a negative time waits without limit).
    func poll(_ descriptor: Descriptor, milliseconds: Int32) -> Outcome {
        var entries = [
            pollfd(fd: descriptor.raw, events: Int16(POLLIN), revents: 0),
            pollfd(fd: readEnd.raw, events: Int16(POLLIN), revents: 0),
        ]
        let result = retryingInterrupts { Glibc.poll(&entries, 2, milliseconds) }
        if entries[1].revents != 0 { return .woken }
        if result == 0 { return .timedOut }
        return .ready
    }

    func close() {
        readEnd.close()
        writeEnd.close()
    }
}
