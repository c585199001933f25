import Foundation
import HVProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Where a listening socket is published: bound under a staging name, given its mode, and only then
/// renamed into place, so nobody ever finds the path with the mode bind left (which would refuse
/// other users).
enum SocketPath {
    /// The name a socket is bound under before it is published at `path`.
    static func staging(_ path: String) -> String { path + ".new" }

    /// Gives the socket bound at `staging(path)` its mode and renames it to `path`; false (with
    /// errno set) when either step fails.
    static func publish(_ path: String, mode: UInt32) -> Bool {
        chmod(staging(path), mode_t(mode)) == 0 && rename(staging(path), path) == 0
    }

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
