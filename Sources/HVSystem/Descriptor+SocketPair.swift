import Glibc

extension Descriptor {
    /// Two connected Unix stream sockets (`socketpair(2)`), both close-on-exec from the start:
    /// what one end writes the other reads, and closing one is end-of-file at the other.
    public static func socketPair(name: String) throws(SystemError) -> (Descriptor, Descriptor) {
        var ends: [Int32] = [-1, -1]
        try systemCall("create a socket pair for \(name)") {
            socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends)
        }
        return (Descriptor(ends[0], name: name), Descriptor(ends[1], name: name))
    }
}
