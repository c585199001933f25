import Foundation
import Glibc

/// The unprivileged user a benchmark's clients run as, found in the user database.
struct OperatorAccount {
    let name: String
    let uid: uid_t
    let gid: gid_t

    init(_ name: String) throws(BenchError) {
        guard let entry = getpwnam(name) else {
            throw BenchError(.measurementFailed, "no user named '\(name)'", fix: "pass --operator USER, a member of hypervisor-operators")
        }
        self.name = name
        uid = entry.pointee.pw_uid
        gid = entry.pointee.pw_gid
    }

    /// `arguments` run as this user, with its groups (so polkitd's rules see its memberships).
    func command(_ arguments: [String]) -> [String] {
        ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "--"] + arguments
    }
}
