import Glibc

/// An address on this host that a socket binds or connects to: a Unix socket's path, or a port
/// of 127.0.0.1.
public enum LocalAddress: Sendable, Hashable, CustomStringConvertible {
    case unix(path: String)
    /// Port 0 binds whichever port the kernel chooses.
    case loopback(port: UInt16)

    public var description: String {
        switch self {
        case .unix(let path): path
        case .loopback(let port): "127.0.0.1:\(port)"
        }
    }

    /// The socket domain of the address (`AF_UNIX`, `AF_INET`).
    public var domain: Int32 {
        switch self {
        case .unix: AF_UNIX
        case .loopback: AF_INET
        }
    }

    /// Calls `body` with the address as the socket calls take it.
    func withAddress<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) throws(SystemError) -> T {
        switch self {
        case .unix(let path):
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
                throw SystemError("use \(path)", code: ENAMETOOLONG)
            }
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        case .loopback(let port):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }
}

extension Descriptor {
    /// A new stream socket of the address's domain, bound to it and listening.
    public static func listening(on address: LocalAddress, backlog: Int32 = 8) throws(SystemError) -> Descriptor {
        let socket = try Descriptor.socket(address.domain, Int32(SOCK_STREAM.rawValue), name: address.description)
        if case .loopback = address {
            var reuse: Int32 = 1
            setsockopt(socket.raw, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        }
        guard try address.withAddress({ bind(socket.raw, $0, $1) }) == 0 else { throw SystemError("bind \(address)") }
        try systemCall("listen on \(address)") { listen(socket.raw, backlog) }
        return socket
    }

    /// A new stream socket connected to the address.
    public static func connected(to address: LocalAddress) throws(SystemError) -> Descriptor {
        let socket = try Descriptor.socket(address.domain, Int32(SOCK_STREAM.rawValue), name: address.description)
        // Not retried on EINTR: the connection goes on being made, and a second connect would fail.
        guard try address.withAddress({ connect(socket.raw, $0, $1) }) == 0 else { throw SystemError("connect to \(address)") }
        return socket
    }
}
