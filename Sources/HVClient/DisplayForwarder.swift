import CHVFDPassing
import Foundation
import HVProtocol
import HVSystem

/// `hv vnc`: serves a machine's display to viewers on this host, on a Unix socket only its user
/// can open or on a loopback TCP port whose connections are checked to come from that user.
/// Every viewer connection gets a connection of its own from the broker (`Vm.OpenGraphics`),
/// relayed on a thread of its own; the display itself listens on no address.
public final class DisplayForwarder: @unchecked Sendable {
    /// Where viewers connect: a Unix socket, or a port of 127.0.0.1 (0: one the kernel picks).
    public typealias Place = LocalAddress

    /// Viewers served at once; more are closed when they connect.
    public static let maximumViewers = 4

    public let place: Place
    private let listener: Descriptor
    private let user = getuid()
    private let viewers = NSCondition()
    private var viewerCount = 0

    /// Binds `place` now, so a taken port or path fails before anything else; `place` then names
    /// the port the kernel chose.
    public init(_ place: Place) throws(HVError) {
        do {
            switch place {
            case .unix(let path):
                listener = try Self.bindUnix(path)
                self.place = place
            case .loopback(let port):
                let (socket, bound) = try Self.bindLoopback(port)
                listener = socket
                self.place = .loopback(port: bound)
            }
        } catch {
            throw HVError(
                .invalidParameter, "cannot listen on \(place): \(error.reason)", fix: "choose another --port or --listen path"
            )
        }
    }

    /// Accepts viewers until `stop()`; for each one from this user, `open` asks the broker for a
    /// new connection to the display and the two are relayed on a thread of their own. `report` is
    /// told of each viewer turned away or whose display could not be opened.
    public func serve(open: @escaping @Sendable () throws(HVError) -> Descriptor, report: @escaping @Sendable (String) -> Void) {
        while true {
            let raw = retryingInterrupts { hv_accept_cloexec(listener.raw) }
            guard raw >= 0 else {
                // Shut down by `stop()`; a viewer that left before it was accepted is no reason to stop.
                if errno == EINVAL || errno == EBADF { return }
                continue
            }
            let viewer = Descriptor(raw, name: "a viewer")
            let owner = peerUser(viewer)
            guard owner == user else {
                report("turned away a viewer that is not your user (\(owner.map { "uid \($0)" } ?? "unknown"))")
                continue
            }
            guard takeViewerPlace() else {
                report("turned away a viewer: \(Self.maximumViewers) are connected already")
                continue
            }
            Thread.detachNewThread { [self] in
                defer { giveViewerPlaceBack() }
                do throws(HVError) {
                    let display = try open()
                    _ = Relay(left: Relay.End(viewer), right: Relay.End(display)).run()
                } catch {
                    report("could not open the display for a viewer: \(error.reason)")
                }
            }
        }
    }

    /// Stops accepting viewers: `serve` returns; viewers already connected keep their relay.
    public func stop() {
        shutdown(listener.raw, Int32(SHUT_RDWR))
    }

    /// Who is at the other end: SO_PEERCRED on a Unix socket, the kernel's TCP tables on loopback.
    private func peerUser(_ viewer: Descriptor) -> UInt32? {
        switch place {
        case .unix:
            // struct ucred: pid, uid, gid.
            var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
            var length = socklen_t(MemoryLayout.size(ofValue: credentials))
            guard getsockopt(viewer.raw, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
            return credentials.uid
        case .loopback:
            guard let peer = Self.endpoint(of: viewer, { getpeername($0, $1, $2) }),
                let local = Self.endpoint(of: viewer, { getsockname($0, $1, $2) })
            else { return nil }
            return TCPOwner.uid(peer: peer, local: local, tables: TCPOwner.readTables())
        }
    }

    private func takeViewerPlace() -> Bool {
        viewers.withLock {
            guard viewerCount < Self.maximumViewers else { return false }
            viewerCount += 1
            return true
        }
    }

    private func giveViewerPlaceBack() {
        viewers.withLock { viewerCount -= 1 }
    }

    /// A socket at `path` that only this user may open: bound with a umask that leaves the
    /// socket file 0600. A socket file of this user's left by an earlier run is replaced; anything
    /// else is not.
    static func bindUnix(_ path: String) throws(SystemError) -> Descriptor {
        var status = stat()
        if lstat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFSOCK, status.st_uid == getuid() else {
                throw SystemError("replace \(path)", code: EEXIST)
            }
            unlink(path)
        }
        let mask = umask(0o177)
        defer { umask(mask) }
        return try Descriptor.listening(on: .unix(path: path))
    }

    /// A socket listening on 127.0.0.1:`port`, and the port it got.
    static func bindLoopback(_ port: UInt16) throws(SystemError) -> (Descriptor, UInt16) {
        let socket = try Descriptor.listening(on: .loopback(port: port))
        guard let bound = endpoint(of: socket, { getsockname($0, $1, $2) }) else {
            throw SystemError("read the port of 127.0.0.1:\(port)", code: EINVAL)
        }
        return (socket, bound.port)
    }

    /// The IPv4 address of one end of `socket`, by `getsockname` or `getpeername`.
    static func endpoint(
        of socket: Descriptor, _ name: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) -> TCPEndpoint? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { name(socket.raw, $0, &length) }
        }
        guard result == 0, address.sin_family == sa_family_t(AF_INET) else { return nil }
        let bytes = withUnsafeBytes(of: address.sin_addr.s_addr) { Array($0) }
        return TCPEndpoint(address: bytes, port: UInt16(bigEndian: address.sin_port))
    }
}
