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
    /// Runs a program with resource limits.
    public static let prlimit = Tool("prlimit", debianPackage: "util-linux")
    /// Checks detached OpenPGP signatures against a keyring.
    public static let gpgv = Tool("gpgv", debianPackage: "gpgv")
    /// Builds ISO 9660 images (cloud-init seeds).
    public static let xorriso = Tool("xorriso", debianPackage: "xorriso")
    /// Builds ISO 9660 images; used when xorriso is absent.
    public static let genisoimage = Tool("genisoimage", debianPackage: "genisoimage")
}

/// Where the broker looks for programs: fixed system directories, never the caller's PATH.
public struct ToolLocator: Sendable, Hashable {
    /// `/usr/bin`, `/usr/local/bin` and NixOS's `/run/current-system/sw/bin`.
    public static let standardDirectories = ["/usr/bin", "/usr/local/bin", "/run/current-system/sw/bin"]

    /// The directories searched, in order.
    public var directories: [String]

    public init(directories: [String] = ToolLocator.standardDirectories) {
        self.directories = directories
    }

    /// The absolute path of `tool`, or nil when none of the directories holds an executable of that name.
    public func find(_ tool: Tool) -> String? {
        for directory in directories {
            let path = directory + "/" + tool.name
            var info = stat()
            // Follows symlinks on purpose: NixOS links its programs from the Nix store.
            if stat(path, &info) == 0, info.isRegularFile, access(path, X_OK) == 0 { return path }
        }
        return nil
    }

    /// The absolute path of `tool`; a missing tool is reported with the package that provides it.
    public func locate(_ tool: Tool) throws(ImageError) -> String {
        guard let path = find(tool) else { throw missing(tool) }
        return path
    }

    /// The error for a program that is not installed.
    public func missing(_ tool: Tool) -> ImageError {
        ImageError(
            .toolMissing, "\(tool.name) is not installed (looked in \(directories.joined(separator: ", ")))",
            fix: "install the Debian package \(tool.debianPackage) (apt-get install \(tool.debianPackage)), "
                + "or add it to environment.systemPackages on NixOS"
        )
    }
}
