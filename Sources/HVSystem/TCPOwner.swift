import Glibc

/// Who holds the client end of a TCP connection made within this host. TCP carries no
/// credentials, but the kernel lists every socket of the host, with its owner's uid, in
/// `/proc/net/tcp` (and `tcp6`), as identd reads it: a connection between two sockets of this
/// host is the client's socket listed with the two endpoints the other way round.
public enum TCPOwner {
    /// The uid that owns the socket at `peer` connected to `local`, looked up in `tables` (the
    /// contents of `/proc/net/tcp` and `/proc/net/tcp6`); nil when no such socket is listed (the
    /// peer is on another host).
    public static func uid(peer: TCPEndpoint, local: TCPEndpoint, tables: [String]) -> UInt32? {
        for table in tables {
            for line in table.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count > 7, TCPEndpoint(proc: fields[1]) == peer, TCPEndpoint(proc: fields[2]) == local,
                    let uid = UInt32(fields[7])
                else { continue }
                return uid
            }
        }
        return nil
    }

    /// Reads the kernel's TCP tables; an unreadable one is left out.
    public static func readTables() -> [String] {
        ["/proc/net/tcp", "/proc/net/tcp6"].compactMap { path in
            (try? Descriptor.open(path, O_RDONLY)).flatMap { file in
                var text: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 65_536)
                while let count = try? file.read(into: &chunk), count > 0 { text += chunk[..<count] }
                return String(decoding: text, as: UTF8.self)
            }
        }
    }
}

/// An address and port as bytes in network order; an IPv4 address and its IPv4-mapped IPv6 form
/// are the same endpoint.
public struct TCPEndpoint: Hashable, Sendable {
    public var address: [UInt8]
    public var port: UInt16

    /// `address`: 4 bytes (IPv4) or 16 (IPv6), in network order.
    public init(address: [UInt8], port: UInt16) {
        self.address = address
        self.port = port
        normalize()
    }

    /// `ADDRESS:PORT` as /proc/net/tcp prints it: the address as 32-bit words of hex, each in the
    /// host's byte order (so the words' bytes in memory are the address in network order).
    public init?(proc field: Substring) {
        let parts = field.split(separator: ":")
        guard parts.count == 2, parts[0].count == 8 || parts[0].count == 32, let port = UInt16(parts[1], radix: 16) else {
            return nil
        }
        var bytes: [UInt8] = []
        var rest = parts[0][...]
        while !rest.isEmpty {
            guard let word = UInt32(rest.prefix(8), radix: 16) else { return nil }
            bytes += withUnsafeBytes(of: word) { Array($0) }
            rest = rest.dropFirst(8)
        }
        self.init(address: bytes, port: port)
    }

    private mutating func normalize() {
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]
        if address.count == 16, Array(address.prefix(12)) == mapped { address = Array(address.suffix(4)) }
    }
}
