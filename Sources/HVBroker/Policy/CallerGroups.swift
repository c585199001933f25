import Foundation

/// The names of the groups a user belongs to, as the host's user database says now (the same
/// source polkit's `isInGroup` uses), so quotas follow group membership changes at once.
public enum CallerGroups {
    public static func names(uid: UInt32) -> Set<String> {
        guard let (user, primary) = account(uid) else { return [] }
        var count: Int32 = 64
        var ids = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(user, primary, &ids, &count) == -1 {
            ids = [gid_t](repeating: 0, count: Int(count))
            guard getgrouplist(user, primary, &ids, &count) != -1 else { return [] }
        }
        return Set(ids.prefix(Int(count)).compactMap(groupName))
    }

    /// The user's name, if the user database still has the user.
    public static func userName(_ uid: UInt32) -> String? { account(uid)?.0 }

    static func account(_ uid: UInt32) -> (String, gid_t)? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else {
            return nil
        }
        return (String(cString: name), entry.pw_gid)
    }

    /// The group's id, if the group database has it.
    public static func groupID(_ name: String) -> gid_t? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 64 * 1024)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.gr_gid
    }

    static func groupName(_ gid: gid_t) -> String? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 64 * 1024)
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.gr_name else {
            return nil
        }
        return String(cString: name)
    }
}
