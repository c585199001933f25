import Foundation
import HVProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Checks on the path a listening socket is published at.
enum SocketPath {
    /// Throws unless `path` is absent or a socket (a stale one is replaced): the broker never
    /// removes or replaces anything else an administrator put there.
    static func requireSocketOrAbsent(_ path: String) throws(HVError) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw HVError(
                .failed, "\(path) exists and is not a socket, so the broker will not replace it",
                fix: "move that file away, or give the broker another socket path"
            )
        }
    }
}
