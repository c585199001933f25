import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore

extension MetricsServer {
    /// The paths served, each to `GET` only.
    static let paths = ["/", "/metrics"]

    /// The Hummingbird application that serves `page` as `configuration` says: HTTP/1.1 with
    /// keep-alive, or HTTPS when the configuration has TLS. ``run()`` runs it; tests drive the same
    /// application with HummingbirdTesting.
    ///
    /// Refuses to build without authentication on an address other machines can reach.
    public static func buildApplication(
        configuration: MetricsServerConfiguration, page: MetricsPage, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws(MetricsError) -> some ApplicationProtocol {
        try configuration.checkExposure()
        let http1 = HTTP1Channel.Configuration(
            idleTimeout: configuration.idleTimeout,
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: configuration.maximumHeaderBytes,
                maxHeaderListSize: configuration.maximumHeaderBytes, maxHeaderFieldCount: 100))
        let server: HTTPServerBuilder
        if let tls = configuration.tls {
            do {
                server = try .tls(.http1(configuration: http1), tlsConfiguration: tls.configuration)
            } catch {
                throw MetricsError(.tlsUnusable, "the TLS certificate and key do not make a TLS context: \(error)")
            }
        } else {
            server = .http1(configuration: http1)
        }
        // Hummingbird's own line at start repeats "metrics listening"; below debug it keeps to notices.
        var serverLogger = logger
        if serverLogger.logLevel == .info { serverLogger.logLevel = .notice }
        return Application(
            router: buildRouter(configuration: configuration, page: page, logger: logger), server: server,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), backlog: 256, reuseAddress: true,
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maximumConnections, logger: logger)
            ),
            onServerRunning: onServerRunning, logger: serverLogger)
    }

    /// `GET /metrics` (the latest page) and `GET /` (a short index), behind the body limit and the
    /// credentials check, which come first: without credentials every path and method gets the same 401.
    static func buildRouter(
        configuration: MetricsServerConfiguration, page: MetricsPage, logger: Logger
    ) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(
            middleware: MetricsAccessMiddleware(
                authentication: configuration.authentication, maximumBodyBytes: configuration.maximumBodyBytes,
                logger: logger))
        router.add(middleware: UnroutedRequestMiddleware(paths: paths))
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: Exposition.contentType],
                body: .init(byteBuffer: ByteBuffer(bytes: page.current)))
        }
        router.get("/") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: index)))
        }
        return router
    }

    static let index = """
        <!DOCTYPE html>
        <html><head><title>Hyper-NixOS monitor</title></head>
        <body><h1>Hyper-NixOS monitor</h1><p><a href="/metrics">Metrics</a> in the Prometheus text format.</p></body>
        </html>

        """
}

extension Response {
    /// A plain-text answer.
    static func text(_ status: HTTPResponse.Status, _ text: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Who may make a request, checked before any route: the body must fit the limit (413 otherwise)
/// and, when the server has authentication, the request must carry the credentials (401 otherwise).
struct MetricsAccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let authentication: MetricsAuthentication?
    let maximumBodyBytes: Int
    let logger: Logger

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var request = request
        do {
            _ = try await request.collectBody(upTo: maximumBodyBytes)
        } catch is NIOTooManyBytesError {
            return .text(.contentTooLarge, "request body too large\n")
        }
        if let authentication, !authentication.admits(request.headers) {
            logger.debug(
                "metrics request refused: no valid credentials", metadata: ["uri": "\(request.uri.description.prefix(128))"])
            var challenges = HTTPFields()
            for challenge in authentication.challenges {
                challenges.append(HTTPField(name: .wwwAuthenticate, value: challenge))
            }
            return .text(.unauthorized, authentication.refusal, headers: challenges)
        }
        return try await next(request, context)
    }
}

/// The answers for requests no route takes: 405 for another method on a served path, 404 otherwise.
struct UnroutedRequestMiddleware<Context: RequestContext>: RouterMiddleware {
    let paths: [String]

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard paths.contains(request.uri.path) else {
                return .text(.notFound, "not found; the metrics are at /metrics\n")
            }
            return .text(.methodNotAllowed, "only GET is allowed\n", headers: [.allow: "GET"])
        }
    }
}
