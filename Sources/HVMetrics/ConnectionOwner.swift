import Foundation
import NIOCore

/// Who is at the other end of a TCP connection: the local user whose socket it is, when the
/// connection comes from this machine, else the remote address. TCP carries no credentials, but
/// for a connection between two sockets of this host the kernel lists the client's socket, with
/// its owner's uid, in `/proc/net/tcp` (or `tcp6`), as identd reads it.
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
        guard let peerEndpoint = Endpoint(peer), let localEndpoint = Endpoint(local) else { return .address(address) }
        for table in tables {
            for line in table.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count > 7, Endpoint(proc: fields[1]) == peerEndpoint, Endpoint(proc: fields[2]) == localEndpoint,
                    let uid = UInt32(fields[7])
                else { continue }
                return .user(uid)
            }
        }
        return .address(address)
    }

    /// Reads the kernel's TCP tables; an unreadable one is left out.
    public static func readTables() -> [String] {
        ["/proc/net/tcp", "/proc/net/tcp6"].compactMap { try? String(contentsOfFile: $0, encoding: .ascii) }
    }
}

/// An address and port as bytes in network order; an IPv4 address and its IPv4-mapped IPv6 form
/// are the same endpoint.
struct Endpoint: Hashable {
    var address: [UInt8]
    var port: UInt16

    init?(_ socket: SocketAddress) {
        guard let port = socket.port else { return nil }
        switch socket {
        case .v4(let v4):
            address = withUnsafeBytes(of: v4.address.sin_addr.s_addr) { Array($0) }
        case .v6(let v6):
            address = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        default:
            return nil
        }
        self.port = UInt16(port)
        normalize()
    }

    /// `ADDRESS:PORT` as /proc/net/tcp prints it: the address as 32-bit words of hex, each in the
    /// host's byte order (so the words' bytes in memory are the address in network order).
    init?(proc field: Substring) {
        let parts = field.split(separator: ":")
        guard parts.count == 2, parts[0].count == 8 || parts[0].count == 32, let port = UInt16(parts[1], radix: 16) else { return nil }
        var bytes: [UInt8] = []
        var rest = parts[0][...]
        while !rest.isEmpty {
            guard let word = UInt32(rest.prefix(8), radix: 16) else { return nil }
            bytes += withUnsafeBytes(of: word) { Array($0) }
            rest = rest.dropFirst(8)
        }
        address = bytes
        self.port = port
        normalize()
    }

    private mutating func normalize() {
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]
        if address.count == 16, Array(address.prefix(12)) == mapped { address = Array(address.suffix(4)) }
    }
}
