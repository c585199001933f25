import Glibc

/// Programs given to the broker by absolute path (`hv-broker --tool NAME=PATH`), as the NixOS
/// module does with store paths, checked once when the broker starts.
extension ToolLocator {
    /// The programs `--tool` may name.
    public static let configurableTools: [Tool] = [.qemuImg, .qemuNBD, .env, .prlimit, .gpgv, .xorriso, .genisoimage, .rclone]

    /// Reads `NAME=PATH` arguments into a locator that uses those paths and searches the standard
    /// directories for the other programs.
    ///
    /// Each path must be absolute and an executable regular file that only a trusted user can
    /// change: the file, the directories leading to it and any symlink on the way are owned by one
    /// of `trustedOwners` (root), and no file or directory on the way is writable by its group or by
    /// others (a sticky directory such as `/nix/store` or `/tmp` may be).
    public static func configured(_ arguments: [String], trustedOwners: Set<uid_t> = [0]) throws(ImageError) -> ToolLocator {
        var paths: [String: String] = [:]
        for argument in arguments {
            guard let separator = argument.firstIndex(of: "=") else {
                throw ImageError(.invalidParameter, "--tool \(argument): write it as NAME=PATH, such as qemu-img=/usr/bin/qemu-img", parameter: "tool")
            }
            let name = String(argument[..<separator])
            let path = String(argument[argument.index(after: separator)...])
            guard configurableTools.contains(where: { $0.name == name }) else {
                let known = configurableTools.map(\.name).joined(separator: ", ")
                throw ImageError(.invalidParameter, "--tool \(argument): the broker runs no program called '\(name)' (it runs \(known))", parameter: "tool")
            }
            guard paths[name] == nil else {
                throw ImageError(.invalidParameter, "--tool \(name) is given twice", parameter: "tool")
            }
            try checkTrusted(path, for: name, trustedOwners: trustedOwners)
            paths[name] = path
        }
        return ToolLocator(configured: paths)
    }

    /// Refuses a program path that is not absolute, not an executable file, or that someone other
    /// than a trusted owner could replace.
    static func checkTrusted(_ path: String, for name: String, trustedOwners: Set<uid_t>) throws(ImageError) {
        func refuse(_ reason: String) -> ImageError {
            ImageError(
                .invalidParameter, "--tool \(name)=\(path): \(reason)",
                fix: "give the path of a program that only root can change, such as a Nix store path or /usr/bin/\(name)",
                parameter: "tool"
            )
        }
        guard path.hasPrefix("/") else { throw refuse("not an absolute path") }
        guard let resolved = realpath(path, nil) else { throw refuse("cannot be resolved: \(errnoText())") }
        let real = String(cString: resolved)
        free(resolved)
        guard isExecutableFile(real) else { throw refuse("not an executable regular file") }
        // The path as given (its symlinks included) and the file it leads to.
        for chain in [path, real] {
            for prefix in prefixes(of: chain) {
                var info = stat()
                guard lstat(prefix, &info) == 0 else { throw refuse("cannot read \(prefix): \(errnoText())") }
                guard trustedOwners.contains(info.st_uid) else {
                    throw refuse("\(prefix) is owned by uid \(info.st_uid), not by root")
                }
                let symlink = (info.st_mode & S_IFMT) == S_IFLNK
                let sticky = info.isDirectory && info.st_mode & S_ISVTX != 0
                if !symlink, !sticky, info.st_mode & (S_IWGRP | S_IWOTH) != 0 {
                    throw refuse("\(prefix) is writable by its group or by others")
                }
            }
        }
    }

    /// `/`, `/a`, `/a/b` for `/a/b`.
    static func prefixes(of path: String) -> [String] {
        var result = ["/"]
        var current = ""
        for component in path.split(separator: "/") where !component.isEmpty {
            current += "/" + component
            result.append(current)
        }
        return result
    }
}
