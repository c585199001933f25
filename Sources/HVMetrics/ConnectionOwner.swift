import Foundation
import HVSystem
import NIOCore

/// Who is at the other end of a TCP connection: the local user whose socket it is, when the
/// connection comes from this machine (`TCPOwner`), else the remote address.
public enum ConnectionOwner: Hashable, Sendable, CustomStringConvertible {
    case user(UInt32)
    case address(String)

    public var description: String {
        switch self {
        case .user(let uid): "uid \(uid)"
        case .address(let address): address
        }
    }

    /// The owner of the connection from `peer` to `local`, looked up in `tables` (the contents of
    /// `/proc/net/tcp` and `/proc/net/tcp6`).
    public static func of(peer: SocketAddress, local: SocketAddress, tables: [String]) -> ConnectionOwner {
        let address = peer.ipAddress ?? "\(peer)"
        guard let peerEndpoint = TCPEndpoint(peer), let localEndpoint = TCPEndpoint(local),
            let uid = TCPOwner.uid(peer: peerEndpoint, local: localEndpoint, tables: tables)
        else { return .address(address) }
        return .user(uid)
    }

    /// Reads the kernel's TCP tables; an unreadable one is left out.
    public static func readTables() -> [String] {
        TCPOwner.readTables()
    }
}

extension TCPEndpoint {
    init?(_ socket: SocketAddress) {
        guard let port = socket.port else { return nil }
        switch socket {
        case .v4(let v4):
            self.init(address: withUnsafeBytes(of: v4.address.sin_addr.s_addr) { Array($0) }, port: UInt16(port))
        case .v6(let v6):
            self.init(address: withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }, port: UInt16(port))
        default:
            return nil
        }
    }
}
