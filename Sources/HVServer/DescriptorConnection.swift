import CHVFDPassing
import CHVShims
import Foundation
import HVProtocol
import HVSystem

#if canImport(Glibc)
import Glibc
#endif

/// One client of a `DescriptorServer`: the blocking system calls, run on a dedicated thread.
struct DescriptorConnection: Sendable {
    let socket: Descriptor
    let peer: Peer

    /// What the client sent.
    enum Received: Sendable {
        /// A whole call and exactly one descriptor, checked to be a readable regular file.
        case call(message: [UInt8], descriptor: Descriptor)
        /// A whole call of a method answered with a descriptor; none came with it.
        case handOut(message: [UInt8])
        /// A call the server refuses; every descriptor that came with it is closed already.
        case refused(HVError)
        /// The client left before finishing its call, or the server is stopping.
        case abandoned
    }

    /// The peer's kernel-vouched credentials (SO_PEERCRED), read before anything else; nil if the
    /// kernel would not say who is calling.
    static func credentials(of socket: Descriptor) -> hv_ucred? {
        var credentials = hv_ucred()
        var length = socklen_t(MemoryLayout<hv_ucred>.size)
        guard getsockopt(socket.raw, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        return credentials
    }

    /// The connection with its peer, completed from /proc.
    init(socket: Descriptor, credentials: hv_ucred) {
        self.socket = socket
        self.peer = Peer(uid: credentials.uid, gid: credentials.gid, pid: credentials.pid)
    }

    /// Reads one NUL-terminated call and the descriptor that comes with it, all within `timeout`.
    ///
    /// The connection never holds more than one passed descriptor: each read makes room for one
    /// while none is held and for none after that, so the kernel itself releases any further
    /// descriptor without installing it here. A second descriptor, in the same message or a later
    /// one, refuses the call at once and closes the one held. A call of one of `handedOut` must
    /// come with none.
    func receive(maximumMessageSize: Int, timeout: Duration, handedOut: Set<String>, wake: WakePipe) -> Received {
        var framer = MessageFramer(maximumMessageSize: maximumMessageSize)
        var message: [UInt8] = []
        var descriptor: Descriptor?
        func refuse(_ error: HVError) -> Received {
            descriptor?.close()
            return .refused(error)
        }
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let remaining = deadline - .now
            guard remaining > .zero else {
                return refuse(Self.protocolError(
                    "ReadTimeout", "the call was not finished within \(timeout.components.seconds) s",
                    fix: "send the call, terminated by a NUL byte, right after connecting"
                ))
            }
            switch wake.poll(socket, milliseconds: Self.milliseconds(remaining)) {
            case .woken:
                descriptor?.close()
                return .abandoned
            case .timedOut: continue
            case .ready: break
            }
            var received: Int32 = -1
            var count: Int32 = 0
            var cut: Int32 = 0
            let bytes = retryingInterrupts {
                buffer.withUnsafeMutableBytes { raw in
                    hv_receive_with_descriptors(socket.raw, raw.baseAddress, raw.count, &received, descriptor == nil ? 1 : 0, &count, &cut)
                }
            }
            let code = errno
            if count > 0 { descriptor = Descriptor(received, name: "the passed file") }
            if cut != 0 {
                return refuse(HVError.invalidParameter(
                    "descriptor", "the call carried more than one file descriptor; exactly one is accepted",
                    fix: Self.useHvIsoAdd
                ))
            }
            if bytes < 0 && code == EAGAIN { continue }
            guard bytes > 0 else {
                descriptor?.close()
                return .abandoned
            }
            // One call a connection: whatever follows its NUL is ignored.
            framer.append(buffer[..<bytes])
            do {
                guard let complete = try framer.next() else { continue }
                message = complete
                break
            } catch {
                return refuse(Self.protocolError(
                    "MessageTooLarge", "the call exceeds the limit of \(maximumMessageSize) bytes",
                    fix: "send a smaller call"
                ))
            }
        }
        if let method = try? VarlinkJSON.decode(VarlinkCall.self, from: message).method, handedOut.contains(method) {
            guard descriptor == nil else {
                return refuse(HVError.invalidParameter(
                    "descriptor", "\(method) takes no file descriptor: its reply brings one",
                    fix: "send the call alone"
                ))
            }
            return .handOut(message: message)
        }
        guard let descriptor else {
            return refuse(HVError.invalidParameter(
                "descriptor", "the call carried no file descriptor; exactly one open file must come with it (SCM_RIGHTS)",
                fix: Self.useHvIsoAdd
            ))
        }
        if let problem = Self.checkReadableFile(descriptor) { return refuse(problem) }
        return .call(message: message, descriptor: descriptor)
    }

    /// Writes the reply and its NUL terminator, with `descriptor` (if any) attached to the first
    /// byte (SCM_RIGHTS); a client that does not take it within `timeout` is given up. The caller
    /// still owns `descriptor` and closes it afterwards: the client has its own copy then.
    func reply(_ reply: [UInt8], passing descriptor: Descriptor? = nil, timeout: Duration) {
        var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(socket.raw, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var frame = MessageFramer.frame(reply)
        if let descriptor {
            var attached = [descriptor.raw]
            let sent = frame.withUnsafeBytes { hv_send_with_descriptors(socket.raw, $0.baseAddress, $0.count, &attached, 1) }
            // A client that has gone or stopped reading is given up.
            guard sent > 0 else { return }
            frame.removeFirst(sent)
        }
        try? socket.sendAll(frame)
    }

    func close() {
        socket.close()
    }

    /// Why `descriptor` may not be read as a file, or nil if it may: it must be a regular file,
    /// opened for reading.
    static func checkReadableFile(_ descriptor: Descriptor) -> HVError? {
        var status = stat()
        let flags = fcntl(descriptor.raw, F_GETFL)
        guard fstat(descriptor.raw, &status) == 0, flags >= 0 else {
            return HVError.invalidParameter("descriptor", "the descriptor could not be examined: \(String(cString: strerror(errno)))")
        }
        let kind: String? = switch status.st_mode & S_IFMT {
        case S_IFREG: nil
        case S_IFDIR: "a directory"
        case S_IFIFO: "a pipe"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFLNK: "a symbolic link"
        default: "not a file"
        }
        if let kind {
            return HVError.invalidParameter(
                "descriptor", "the descriptor is \(kind), not a regular file",
                fix: "pass an image file that has been downloaded completely"
            )
        }
        guard hv_flags_allow_reading(flags) != 0 else {
            return HVError.invalidParameter(
                "descriptor", "the descriptor is not open for reading",
                fix: "open the file read-only before passing it"
            )
        }
        return nil
    }

    static let useHvIsoAdd = "use 'hv iso add', which opens the file and passes it along with the call"

    static func protocolError(_ kind: String, _ reason: String, fix: String) -> HVError {
        HVError(.protocolError, reason, fix: fix, details: ["kind": kind])
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }
}
