/// A program that serves one disk image over NBD on a listening socket it is handed the systemd
/// way (`LISTEN_FDS`), started by `NBDClient.start`: qemu-nbd, read-only.
public struct ServerCommand: Sendable, Hashable {
    /// The program's absolute path first, then its arguments; run as they are, never by a shell.
    public var arguments: [String]
    /// The server's path, for messages (`arguments` may start with `env`).
    public var program: String
    /// What is served, for messages.
    public var peer: String

    /// The formats an image is served in; always stated, never probed from the image's content.
    public enum ImageFormat: String, Sendable, Hashable, CaseIterable {
        case raw, qcow2
    }

    /// How qemu-nbd uses the host's page cache for the image.
    public enum CacheMode: String, Sendable, Hashable {
        /// Bypass it (O_DIRECT): a backup reads each block once, so caching it would only push out
        /// what the host's running machines use. Needs a filesystem with O_DIRECT (not tmpfs).
        case none
        /// Read through the page cache.
        case writeback
    }

    /// glibc's malloc settings qemu-nbd is started with, through `env`. qemu-nbd allocates a
    /// buffer for each read request and frees it once the request is answered. With glibc's
    /// defaults a buffer of a large request (1 to 4 MiB here) is a new mapping, or heap the next
    /// free gives back to the kernel, so the kernel faulted in and zeroed every page of every
    /// request anew: two thirds of qemu-nbd's CPU time in a backup (docs/BENCHMARKS.md). With
    /// these, buffers below 32 MiB come from the heap, and the heap is given back only past
    /// 128 MiB, more than the requests in flight hold, so their pages are reused.
    public static let mallocTunables = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=134217728"

    /// qemu-nbd serving `image` read-only in `format` to one client, exiting when it disconnects;
    /// with `bitmap`, it also exports that persistent bitmap of a qcow2 image as the metadata
    /// context `qemu:dirty-bitmap:NAME`. With `env` (its absolute path), qemu-nbd is started
    /// through it with `GLIBC_TUNABLES` set to `mallocTunables`; `env` execs it in the same
    /// process, so the socket handed over the systemd way (`LISTEN_PID`) is still its own.
    ///
    /// `program` and `image` must be absolute paths: an absolute image path is never read as a
    /// QEMU protocol (`nbd:`, `json:`) or an option. Read-only, qemu-nbd takes a shared lock on the
    /// image, so it refuses an image a running machine is writing, and a machine can't start on
    /// an image while it is served.
    public static func qemuNBD(
        program: String, image: String, format: ImageFormat, cache: CacheMode = .none, bitmap: String? = nil, env: String? = nil
    ) throws(NBDError) -> ServerCommand {
        for (what, path) in [("qemu-nbd", program), ("the image", image)] + (env.map { [("env", $0)] } ?? []) {
            let control = path.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
            guard path.hasPrefix("/"), !control else {
                throw NBDError(
                    .invalidArgument, "the path of \(what) must be absolute and printable, got \(String(reflecting: path))",
                    fix: "pass the absolute path libvirt or the tool locator reported"
                )
            }
        }
        if let bitmap, bitmap.isEmpty || bitmap.contains(",") || bitmap.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            throw NBDError(.invalidArgument, "\(String(reflecting: bitmap)) is not a bitmap name qemu-nbd can be given")
        }
        // env reads every argument before the program that has a "=" as a variable to set.
        if env != nil, program.contains("=") {
            throw NBDError(
                .invalidArgument, "qemu-nbd's path \(String(reflecting: program)) has a '=', which env would read as a variable to set",
                fix: "install qemu-nbd where its path has no '=', and name that path"
            )
        }
        let launcher = env.map { [$0, "GLIBC_TUNABLES=" + mallocTunables] } ?? []
        let exported = bitmap.map { ["--bitmap=\($0)"] } ?? []
        return ServerCommand(
            arguments: launcher
                + [program, "--read-only", "--format=\(format.rawValue)", "--cache=\(cache.rawValue)", "--shared=1"] + exported + [image],
            program: program,
            peer: "\(image) (\(format.rawValue), served by qemu-nbd)"
        )
    }
}
