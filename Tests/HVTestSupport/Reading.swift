import Glibc
import HVSystem

/// Reads `count` bytes from a socket, or fewer when it ends first; each read waits at most 10 s.
public func readBytes(_ descriptor: Descriptor, _ count: Int) throws -> [UInt8] {
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(descriptor.raw, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: count)
    while bytes.count < count {
        let read = try buffer.withUnsafeMutableBytes { raw in
            try descriptor.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[..<(count - bytes.count)]))
        }
        if read == 0 { break }
        bytes += buffer[..<read]
    }
    return bytes
}
