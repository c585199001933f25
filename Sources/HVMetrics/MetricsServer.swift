import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Where and how the `/metrics` listener serves.
public struct MetricsServerConfiguration: Sendable {
    /// The address to bind; loopback by default, so only local scrapers (or a proxy) reach it.
    public var host: String
    /// The TCP port; 0 picks a free one (see ``MetricsServer/localAddress``).
    public var port: Int
    /// Connections served at once; further ones wait to be accepted (in a listen backlog of 256)
    /// until one of these closes.
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

/// Serves `GET /metrics` (the latest ``MetricsPage``), `GET /` (a short index) and nothing else:
/// the application of ``buildApplication(configuration:page:logger:onServerRunning:)``, run as a
/// service. When the configuration has authentication, every request without the credentials is
/// answered 401 and nothing more. Runs until its task is cancelled or graceful shutdown, which
/// closes the listener, lets requests in progress finish and drops idle keep-alive connections.
public final class MetricsServer: Service {
    let configuration: MetricsServerConfiguration
    let page: MetricsPage
    let logger: Logger
    private let boundAddress = Mutex<SocketAddress?>(nil)

    public init(configuration: MetricsServerConfiguration = .init(), page: MetricsPage, logger: Logger) {
        self.configuration = configuration
        self.page = page
        self.logger = logger
    }

    /// The address the server listens on once `run()` has bound it; nil before and after.
    public var localAddress: SocketAddress? {
        boundAddress.withLock { $0 }
    }

    public func run() async throws {
        let application = try Self.buildApplication(configuration: configuration, page: page, logger: logger) {
            self.listening(on: $0.localAddress)
        }
        defer { boundAddress.withLock { $0 = nil } }
        do {
            try await application.run()
        } catch {
            guard localAddress != nil else {
                throw MetricsError(
                    .listenFailed, "cannot listen on \(configuration.host):\(configuration.port): \(error)",
                    fix: "choose a free port or address in the monitor configuration")
            }
            throw error
        }
        logger.info("metrics stopped")
    }

    private func listening(on address: SocketAddress?) {
        boundAddress.withLock { $0 = address }
        logger.info(
            "metrics listening",
            metadata: [
                "address": "\(address.map { "\($0)" } ?? "?")",
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
    }
}
