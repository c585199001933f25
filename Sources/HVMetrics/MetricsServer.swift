import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// Where and how the `/metrics` listener serves.
public struct MetricsServerConfiguration: Sendable {
    /// The address to bind; loopback by default, so only local scrapers (or a proxy) reach it.
    public var host: String
    /// The TCP port; 0 picks a free one (see ``MetricsServer/localAddress``).
    public var port: Int
    /// Connections served at once; further ones get 503 and are closed.
    public var maximumConnections: Int
    /// Largest request head (request line and headers together) accepted, in bytes.
    public var maximumHeaderBytes: Int
    /// Largest request body accepted, in bytes; a scrape has none.
    public var maximumBodyBytes: Int
    /// A connection with no request for this long is closed.
    public var idleTimeout: TimeAmount
    /// Who may read; nil serves anyone who can connect, which only a loopback address allows.
    /// The monitor fills it from its `web` section (``MetricsWebConfiguration``).
    public var authentication: MetricsAuthentication?
    /// HTTPS when set, plain HTTP otherwise.
    public var tls: MetricsTLS?

    public init(
        host: String = "127.0.0.1", port: Int = 9478, maximumConnections: Int = 64, maximumHeaderBytes: Int = 8192,
        maximumBodyBytes: Int = 1024, idleTimeout: TimeAmount = .seconds(60),
        authentication: MetricsAuthentication? = nil, tls: MetricsTLS? = nil
    ) {
        self.host = host
        self.port = port
        self.maximumConnections = maximumConnections
        self.maximumHeaderBytes = maximumHeaderBytes
        self.maximumBodyBytes = maximumBodyBytes
        self.idleTimeout = idleTimeout
        self.authentication = authentication
        self.tls = tls
    }

    /// Whether `host` names only this machine: 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) or
    /// `localhost`. Any other name, and the wildcard addresses, count as reachable from outside.
    public var listensOnLoopback: Bool {
        if host == "localhost" { return true }
        // The address as inet_ntop writes it: dotted quad, or IPv6 with a mapped IPv4 address last.
        guard let canonical = (try? SocketAddress(ipAddress: host, port: 0))?.ipAddress else { return false }
        let v4 = canonical.hasPrefix("::ffff:") ? canonical.dropFirst("::ffff:".count) : canonical[...]
        return canonical == "::1" || (v4.hasPrefix("127.") && v4.split(separator: ".").count == 4)
    }

    /// Refuses to serve without authentication on an address other machines can reach.
    public func checkExposure() throws(MetricsError) {
        guard authentication == nil, !listensOnLoopback else { return }
        throw MetricsError(
            .unauthenticatedExposure,
            "\(host) is not a loopback address, and /metrics would answer anyone there without credentials",
            fix: "remove web.allow_unauthenticated from the monitor configuration so the token in "
                + "web.bearer_token_file is required, or listen on 127.0.0.1")
    }
}

/// Serves `GET /metrics` (the latest ``MetricsPage``), `GET /` (a short index) and nothing else,
/// over HTTP/1.1 with keep-alive, or HTTPS when the configuration has TLS. When it has
/// authentication, every request without the credentials is answered 401 and nothing more.
/// Runs until its task is cancelled or graceful shutdown.
public final class MetricsServer: Service {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    let configuration: MetricsServerConfiguration
    let page: MetricsPage
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    private let openConnections = Atomic<Int>(0)
    private let boundAddress = Mutex<SocketAddress?>(nil)

    public init(
        configuration: MetricsServerConfiguration = .init(), page: MetricsPage,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) {
        self.configuration = configuration
        self.page = page
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// The address the server listens on once `run()` has bound it; nil before and after.
    public var localAddress: SocketAddress? {
        boundAddress.withLock { $0 }
    }

    public func run() async throws {
        try configuration.checkExposure()
        let server = try await bind()
        boundAddress.withLock { $0 = server.channel.localAddress }
        defer { boundAddress.withLock { $0 = nil } }
        logger.info(
            "metrics listening",
            metadata: [
                "address": "\(server.channel.localAddress.map { "\($0)" } ?? "?")",
                "scheme": "\(configuration.tls == nil ? "http" : "https")",
                "authentication": "\(configuration.authentication.map { "\($0)" } ?? "none")",
            ]
        )
        if configuration.tls == nil, configuration.authentication != nil, !configuration.listensOnLoopback {
            logger.warning(
                "metrics credentials cross the network in clear text; set web.tls_cert_file and web.tls_key_file",
                metadata: ["address": "\(configuration.host)"]
            )
        }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await self.serve(connection) }
                    }
                }
                // The listener is closed: drop idle keep-alive connections rather than wait on them.
                group.cancelAll()
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
        logger.info("metrics stopped")
    }

    private func bind() async throws -> NIOAsyncChannel<Connection, Never> {
        let configuration = configuration
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = configuration.maximumHeaderBytes
        limits.maxHeaderListSize = configuration.maximumHeaderBytes
        limits.maxHeaderFieldCount = 100
        do {
            return try await ServerBootstrap(group: eventLoopGroup)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            IdleStateHandler(readTimeout: configuration.idleTimeout)
                        )
                        try channel.pipeline.syncOperations.addHandler(CloseWhenIdleHandler())
                        if let tls = configuration.tls {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
                        }
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                            withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits
                        )
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw MetricsError(
                .listenFailed, "cannot listen on \(configuration.host):\(configuration.port): \(error)",
                fix: "choose a free port or address in the monitor configuration"
            )
        }
    }

    private func serve(_ connection: Connection) async {
        let count = openConnections.wrappingAdd(1, ordering: .relaxed).newValue
        defer { openConnections.wrappingSubtract(1, ordering: .relaxed) }
        do {
            try await connection.executeThenClose { inbound, outbound in
                if count > configuration.maximumConnections {
                    try await Self.write(
                        .init(status: .serviceUnavailable, text: "too many connections\n"), to: outbound,
                        keepAlive: false)
                    return
                }
                var request: HTTPRequestHead?
                var bodyBytes = 0
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        request = head
                        bodyBytes = 0
                    case .body(let body):
                        bodyBytes += body.readableBytes
                        if bodyBytes > configuration.maximumBodyBytes {
                            let response = Response(status: .payloadTooLarge, text: "request body too large\n")
                            try await Self.write(response, to: outbound, keepAlive: false)
                            return
                        }
                    case .end:
                        guard let head = request else { continue }
                        request = nil
                        let keepAlive = head.isKeepAlive
                        try await Self.write(respond(to: head), to: outbound, keepAlive: keepAlive)
                        if !keepAlive { return }
                    }
                }
            }
        } catch {
            logger.debug("metrics connection ended", metadata: ["error": "\(error)"])
        }
    }

    struct Response {
        var status: HTTPResponseStatus
        var contentType = "text/plain; charset=utf-8"
        var headers: [(String, String)] = []
        var body: [UInt8]

        init(
            status: HTTPResponseStatus, contentType: String = "text/plain; charset=utf-8",
            headers: [(String, String)] = [], body: [UInt8]
        ) {
            self.status = status
            self.contentType = contentType
            self.headers = headers
            self.body = body
        }

        init(status: HTTPResponseStatus, text: String) {
            self.init(status: status, body: Array(text.utf8))
        }
    }

    /// The routing: a pure function of the request head and the current page. Credentials come
    /// first: without them every path and method gets the same 401.
    func respond(to head: HTTPRequestHead) -> Response {
        if let authentication = configuration.authentication, !authentication.admits(head.headers) {
            logger.debug("metrics request refused: no valid credentials", metadata: ["uri": "\(head.uri.prefix(128))"])
            return Response(
                status: .unauthorized, headers: authentication.challenges.map { ("WWW-Authenticate", $0) },
                body: Array(authentication.refusal.utf8))
        }
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == "/metrics" || path == "/" else {
            return Response(status: .notFound, text: "not found; the metrics are at /metrics\n")
        }
        guard head.method == .GET else {
            return Response(
                status: .methodNotAllowed, headers: [("Allow", "GET")], body: Array("only GET is allowed\n".utf8))
        }
        if path == "/metrics" {
            return Response(status: .ok, contentType: Exposition.contentType, body: page.current)
        }
        return Response(status: .ok, contentType: "text/html; charset=utf-8", body: Array(Self.index.utf8))
    }

    static let index = """
        <!DOCTYPE html>
        <html><head><title>Hyper-NixOS monitor</title></head>
        <body><h1>Hyper-NixOS monitor</h1><p><a href="/metrics">Metrics</a> in the Prometheus text format.</p></body>
        </html>

        """

    private static func write(
        _ response: Response, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, keepAlive: Bool
    ) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)))
        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
        try await outbound.write(.end(nil))
    }
}

/// Closes a connection that sent nothing for the idle timeout.
final class CloseWhenIdleHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
