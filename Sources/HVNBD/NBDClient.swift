import CLibnbd
import Glibc

/// One connection to an NBD server through libnbd, read-only as this project uses it; closed when
/// the last reference goes.
///
/// libnbd serializes the calls on one handle with a lock of its own, so a client may be handed to
/// another thread; every method blocks, so callers run them on a pool for blocking work.
public final class NBDClient: @unchecked Sendable {
    let handle: OpaquePointer
    /// Where the client is connected, for messages: the socket and export, or the image qemu-nbd serves.
    public let peer: String
    /// The metadata contexts the server agreed to, in the order they were asked for.
    public let metaContexts: [MetaContext]

    private init(handle: OpaquePointer, peer: String, metaContexts: [MetaContext]) {
        self.handle = handle
        self.peer = peer
        self.metaContexts = metaContexts
    }

    deinit {
        // Closes the socket and, for a server libnbd started, waits for it to exit.
        nbd_close(handle)
    }

    /// Connects to the server listening on the Unix socket at `socketPath` and opens `export`,
    /// asking for `metaContexts` (which the server must agree to).
    public static func connect(
        unixSocket socketPath: String, export: String, metaContexts: [MetaContext] = []
    ) throws(NBDError) -> NBDClient {
        try open(export: export, metaContexts: metaContexts, peer: "export '\(export)' at \(socketPath)") {
            handle throws(NBDError) in
            try NBDCall.status(.connectionFailed, "connect to export '\(export)' at \(socketPath)") {
                nbd_connect_unix(handle, socketPath)
            }
        }
    }

    /// Starts `server` (qemu-nbd, or another server that takes a socket the systemd way) with
    /// `arguments`, hands it a listening socket (`nbd_connect_systemd_socket_activation`) and
    /// connects to its default export. The program is run from an argument array, never a shell;
    /// it exits when the client closes.
    public static func start(
        _ command: ServerCommand, metaContexts: [MetaContext] = []
    ) throws(NBDError) -> NBDClient {
        try open(export: "", metaContexts: metaContexts, peer: command.peer) { handle throws(NBDError) in
            var arguments = command.arguments.map { strdup($0) }
            defer { arguments.forEach { free($0) } }
            arguments.append(nil)
            try NBDCall.status(.connectionFailed, "start \(command.program) for \(command.peer)") {
                arguments.withUnsafeMutableBufferPointer { nbd_connect_systemd_socket_activation(handle, $0.baseAddress!) }
            }
        }
    }

    private static func open(
        export: String, metaContexts: [MetaContext], peer: String,
        connect: (OpaquePointer) throws(NBDError) -> Void
    ) throws(NBDError) -> NBDClient {
        guard let handle = nbd_create() else { throw NBDError.last(.failed, "create an NBD handle") }
        // From here the client owns the handle: any failure below closes it.
        let client = NBDClient(handle: handle, peer: peer, metaContexts: metaContexts)
        try NBDCall.status(.invalidArgument, "set the export name '\(export)'") { nbd_set_export_name(handle, export) }
        // Buffers are read into whole or the read fails: libnbd need not clear them first.
        try NBDCall.status(.failed, "configure reads") { nbd_set_pread_initialize(handle, false) }
        for context in metaContexts {
            try NBDCall.status(.invalidArgument, "ask for metadata context \(context.name)") {
                nbd_add_meta_context(handle, context.name)
            }
        }
        try connect(handle)
        for context in metaContexts {
            let agreed = try NBDCall.status(.metaContextMissing, "ask \(peer) for \(context.name)") {
                nbd_can_meta_context(handle, context.name)
            }
            guard agreed == 1 else {
                throw NBDError(
                    .metaContextMissing, "\(peer) does not offer metadata context \(context.name)",
                    fix: context.missingFix
                )
            }
        }
        return client
    }

    /// The export's size in bytes.
    public func size() throws(NBDError) -> UInt64 {
        UInt64(try NBDCall.status(.failed, "read the size of \(peer)") { nbd_get_size(handle) })
    }

    /// The largest request the server accepts, in bytes: what it advertised, else the 32 MiB every
    /// server must take.
    public func maximumRequestSize() -> Int {
        let advertised = nbd_get_block_size(handle, Int32(LIBNBD_SIZE_MAXIMUM))
        return advertised > 0 ? Int(advertised) : 32 << 20
    }

    /// Tells the server the client is done (NBD_CMD_DISC) once nothing is in flight; the socket is
    /// closed when the client goes. Errors are ignored: the connection may already be gone.
    public func shutdown() {
        _ = nbd_shutdown(handle, 0)
    }
}
