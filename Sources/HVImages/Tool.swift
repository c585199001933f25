import Glibc

/// A program the broker runs, and the Debian package that provides it.
public struct Tool: Sendable, Hashable, CustomStringConvertible {
    /// The executable's file name, such as `qemu-img`.
    public var name: String
    /// The Debian package to install when it is missing.
    public var debianPackage: String

    public init(_ name: String, debianPackage: String) {
        self.name = name
        self.debianPackage = debianPackage
    }

    public var description: String { name }

    /// Inspects disk images (`qemu-img info`).
    public static let qemuImg = Tool("qemu-img", debianPackage: "qemu-utils")
    /// Serves a stopped machine's disk image read-only over NBD for a backup (started by libnbd).
    public static let qemuNBD = Tool("qemu-nbd", debianPackage: "qemu-utils")
    /// Runs a program with variables set in its environment (qemu-nbd with glibc's malloc settings).
    public static let env = Tool("env", debianPackage: "coreutils")
    /// Runs a program with resource limits.
    public static let prlimit = Tool("prlimit", debianPackage: "util-linux")
    /// Checks detached OpenPGP signatures against a keyring.
    public static let gpgv = Tool("gpgv", debianPackage: "gpgv")
    /// Builds ISO 9660 images (cloud-init seeds).
    public static let xorriso = Tool("xorriso", debianPackage: "xorriso")
    /// Copies backup repositories off the host (`hv-broker backup-sync`, never the broker itself).
    public static let rclone = Tool("rclone", debianPackage: "rclone")
    /// Builds ISO 9660 images; used when xorriso is absent.
    public static let genisoimage = Tool("genisoimage", debianPackage: "genisoimage")
    /// Checks backup jobs' schedules and computes their next runs (`systemd-analyze calendar`).
    public static let systemdAnalyze = Tool("systemd-analyze", debianPackage: "systemd")
}

/// Where the broker finds programs: the absolute paths it was given (`hv-broker --tool NAME=PATH`),
/// else fixed system directories; never the caller's PATH.
public struct ToolLocator: Sendable, Hashable {
    /// `/usr/bin`, `/usr/local/bin` and NixOS's `/run/current-system/sw/bin`.
    public static let standardDirectories = ["/usr/bin", "/usr/local/bin", "/run/current-system/sw/bin"]

    /// The directories searched, in order, for a program that was not given by path.
    public var directories: [String]
    /// Programs given by absolute path, by name (`qemu-img`): used there and never searched for.
    public var configured: [String: String]

    public init(directories: [String] = ToolLocator.standardDirectories, configured: [String: String] = [:]) {
        self.directories = directories
        self.configured = configured
    }

    /// The absolute path of `tool`, or nil when it is not an executable file there (a given path)
    /// or in none of the directories.
    public func find(_ tool: Tool) -> String? {
        if let path = configured[tool.name] { return Self.isExecutableFile(path) ? path : nil }
        return directories.lazy.map { $0 + "/" + tool.name }.first(where: Self.isExecutableFile)
    }

    /// The absolute path of `tool`; a missing tool is reported with the package that provides it.
    public func locate(_ tool: Tool) throws(ImageError) -> String {
        guard let path = find(tool) else { throw missing(tool) }
        return path
    }

    /// The error for a program that is not installed.
    public func missing(_ tool: Tool) -> ImageError {
        if let path = configured[tool.name] {
            return ImageError(
                .toolMissing, "\(tool.name) is not an executable file at \(path), the path the broker was given for it",
                fix: "correct hv-broker's --tool \(tool.name)=PATH (on NixOS: services.hypernixos.tools) and restart the broker"
            )
        }
        return ImageError(
            .toolMissing, "\(tool.name) is not installed (looked in \(directories.joined(separator: ", ")))",
            fix: "install the Debian package \(tool.debianPackage) (apt-get install \(tool.debianPackage)), "
                + "or give the broker its path with --tool \(tool.name)=PATH (the NixOS module does)"
        )
    }

    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        // Follows symlinks on purpose: NixOS links its programs from the Nix store.
        return stat(path, &info) == 0 && info.isRegularFile && access(path, X_OK) == 0
    }
}
