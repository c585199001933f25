import CHVFDPassing
import CHVShims
import Foundation
import HVProtocol

#if canImport(Glibc)
import Glibc
#endif

/// A listening Unix stream socket served with plain blocking system calls on dedicated threads,
/// for the calls NIO cannot take (descriptors passed with SCM_RIGHTS).
final class UnixListener: Sendable {
    let descriptor: Int32

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
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Self.failure("create a socket for \(path)") }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(descriptor, backlog) == 0, SocketPath.publish(path, mode: mode) else {
            let error = Self.failure("listen on \(path)")
            Glibc.close(descriptor)
            unlink(staging)
            throw error
        }
        self.descriptor = descriptor
    }

    /// Adopts a socket that is already listening (passed by systemd).
    init(adopting descriptor: Int32) throws(HVError) {
        var type: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        var listening: Int32 = 0
        var listeningLength = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &type, &length) == 0, type == Int32(SOCK_STREAM.rawValue),
              getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &listening, &listeningLength) == 0, listening == 1
        else {
            throw HVError(
                .failed, "descriptor \(descriptor) is not a listening stream socket",
                fix: "pass the upload socket with ListenStream= in the socket unit"
            )
        }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        self.descriptor = descriptor
    }

    /// Waits for the next connection, or returns nil once `wake` has been signalled. Transient
    /// failures (a client that left before being accepted, too many open files) are waited out.
    func accept(wake: WakePipe) throws(HVError) -> Int32? {
        while true {
            switch wake.poll(descriptor, milliseconds: -1) {
            case .woken: return nil
            case .timedOut: continue
            case .ready: break
            }
            let connection = hv_accept_cloexec(descriptor)
            if connection >= 0 { return connection }
            switch errno {
            case EINTR, EAGAIN, EWOULDBLOCK, ECONNABORTED, EPROTO:
                continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                usleep(100_000)
            default:
                throw Self.failure("accept a connection")
            }
        }
    }

    func close() {
        _ = Glibc.close(descriptor)
    }

    static func failure(_ what: String) -> HVError {
        HVError(.failed, "could not \(what): \(String(cString: strerror(errno)))")
    }
}

/// A pipe whose read end becomes readable, for good, once `signal()` is called: every thread
/// blocked in `poll` on it wakes up, which is how a server stops its blocking threads.
final class WakePipe: Sendable {
    private let readEnd: Int32
    private let writeEnd: Int32

    enum Outcome { case ready, woken, timedOut }

    init() throws(HVError) {
        var ends: [Int32] = [0, 0]
        guard hv_pipe_cloexec(&ends) == 0 else { throw UnixListener.failure("create a pipe") }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Waits until `descriptor` is readable (or has hung up), the pipe is signalled, or the time is up
    /// (a negative time waits without limit).
    func poll(_ descriptor: Int32, milliseconds: Int32) -> Outcome {
        var entries = [
            pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            let result = Glibc.poll(&entries, 2, milliseconds)
            if result < 0 && errno == EINTR { continue }
            if entries[1].revents != 0 { return .woken }
            if result == 0 { return .timedOut }
            return .ready
        }
    }

    func close() {
        _ = Glibc.close(readEnd)
        _ = Glibc.close(writeEnd)
    }
}
