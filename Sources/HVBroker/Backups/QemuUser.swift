import CHVShims
import Foundation
import HVProtocol

/// The user libvirt runs QEMU as on `qemu:///system` (`libvirt-qemu` on Debian, `qemu-libvirtd`
/// on NixOS). A running machine's backup has QEMU create its NBD socket and scratch files in the
/// backup's working directory, so that directory must be writable by this user.
///
/// Found as libvirt itself decides it: the `user` setting of `qemu.conf` when it is set, else the
/// owner of libvirt's QEMU state directory, which libvirt creates for that user.
struct QemuUser: Sendable, Hashable {
    var name: String
    var uid: uid_t

    static let configurationFile = "/etc/libvirt/qemu.conf"
    static let stateDirectory = "/var/lib/libvirt/qemu"

    static func find(configuration: String = configurationFile, stateDirectory: String = stateDirectory) throws(HVError) -> QemuUser {
        if let text = try? String(contentsOfFile: configuration, encoding: .utf8), let setting = configured(in: text) {
            guard let user = lookUp(setting) else {
                throw HVError(
                    .failed, "\(configuration) says QEMU runs as '\(setting)', which the user database does not know",
                    fix: "correct the user setting in \(configuration)"
                )
            }
            return user
        }
        var status = stat()
        guard stat(stateDirectory, &status) == 0, status.st_uid != 0, let user = lookUp("+\(status.st_uid)") else {
            throw HVError(
                .failed, "cannot tell which user QEMU runs as: \(configuration) sets no user and \(stateDirectory) is missing or owned by root",
                fix: "set user = \"NAME\" in \(configuration) (libvirt's QEMU user, such as libvirt-qemu), then restart libvirtd and the broker"
            )
        }
        return user
    }

    /// The value of an uncommented `user = "NAME"` line.
    static func configured(in text: String) -> String? {
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("user"), let equals = trimmed.firstIndex(of: "=") else { continue }
            guard trimmed[..<equals].trimmingCharacters(in: .whitespaces) == "user" else { continue }
            let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else { continue }
            return String(value.dropFirst().dropLast())
        }
        return nil
    }

    /// A user by name, or by uid written `+UID` as qemu.conf allows.
    static func lookUp(_ setting: String) -> QemuUser? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        if setting.hasPrefix("+"), let uid = uid_t(setting.dropFirst()) {
            guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return nil }
            return QemuUser(name: String(cString: name), uid: uid)
        }
        guard getpwnam_r(setting, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return QemuUser(name: setting, uid: entry.pw_uid)
    }

    /// Gives this user rwx on `directory` (owned by root, mode 0700) through a POSIX access ACL:
    /// the owner keeps rwx, the group and others get nothing.
    func grant(directory: String) throws(HVError) {
        // posix_acl_xattr: version 2, then (tag, permissions, id) entries sorted by tag.
        var bytes: [UInt8] = []
        func append32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        func append16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        func entry(_ tag: UInt16, _ permissions: UInt16, _ id: UInt32 = UInt32.max) {
            append16(tag)
            append16(permissions)
            append32(id)
        }
        append32(2)
        entry(0x01, 7)  // the owner (root)
        entry(0x02, 7, uid)  // QEMU's user
        entry(0x04, 0)  // the owning group
        entry(0x10, 7)  // the mask
        entry(0x20, 0)  // others
        let result = bytes.withUnsafeBytes { setxattr(directory, "system.posix_acl_access", $0.baseAddress, $0.count, 0) }
        guard result == 0 else {
            throw HVError(
                .failed, "cannot let QEMU's user \(name) write the backup's working directory \(directory): \(String(cString: strerror(errno)))",
                fix: "the broker's state directory must be on a file system with POSIX ACLs (ext4, xfs, btrfs and tmpfs have them)"
            )
        }
    }
}
