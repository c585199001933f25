import AsyncHTTPClient
import Foundation
import HVMetrics
import HVProtocol
import HVTestSupport
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import Testing

@Suite struct MetricsServerTests {
    /// Starts a server on a free loopback port, runs `body` with the port, then stops the server.
    func withServer(
        _ configuration: MetricsServerConfiguration = .init(port: 0), page: MetricsPage = MetricsPage(),
        _ body: (Int) async throws -> Void
    ) async throws {
        let server = MetricsServer(configuration: configuration, page: page, logger: Logger(label: "test"))
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var port: Int?
            for _ in 0..<500 where port == nil {
                port = server.localAddress?.port
                if port == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            let bound = try #require(port)
            try await body(bound)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(server.localAddress == nil)
    }

    @Test func servesTheLatestPage() async throws {
        let page = MetricsPage()
        page.update(Array(Exposition.render([.init(name: "hv_host_load1", value: 0.5)])))
        try await withServer(page: page) { port in
            let response = try await exchange(
                port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(response.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
            #expect(response.hasSuffix("hv_host_load1 0.5\n"))
            page.update(Array("hv_host_load1 0.75\n".utf8))
            let next = try await exchange(
                port: port, "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(next.hasSuffix("\r\n\r\nhv_host_load1 0.75\n"))
        }
    }

    @Test func indexNotFoundAndMethodNotAllowed() async throws {
        try await withServer { port in
            let index = try await exchange(port: port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(index.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(index.contains("text/html"))
            #expect(index.contains("href=\"/metrics\""))
            let missing = try await exchange(port: port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(missing.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
            let post = try await exchange(
                port: port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
            #expect(post.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
            #expect(post.contains("Allow: GET\r\n"))
        }
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        let page = MetricsPage()
        page.update(Array("hv_host_cpus 2\n".utf8))
        try await withServer(page: page) { port in
            let response = try await exchange(
                port: port,
                "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            #expect(response.components(separatedBy: "HTTP/1.1 200 OK\r\n").count == 4)
            #expect(response.components(separatedBy: "hv_host_cpus 2\n").count == 3)
        }
    }

    @Test func oversizedRequestsAreRefused() async throws {
        try await withServer(.init(port: 0, maximumHeaderBytes: 1024, maximumBodyBytes: 16)) { port in
            let big = String(repeating: "a", count: 4096)
            let header = try await exchange(port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: \(big)\r\n\r\n")
            #expect(header.hasPrefix("HTTP/1.1 4"), "\(header.prefix(80))")
            #expect(!header.contains("200 OK"))
            let body = try await exchange(
                port: port,
                "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + String(repeating: "b", count: 100)
            )
            #expect(body.hasPrefix("HTTP/1.1 413 Payload Too Large\r\n"))
        }
    }

    // MARK: authentication

    static let token = "0123456789abcdef0123456789abcdef"
    /// A page naming a machine, which nobody without the token may learn.
    static func secretPage() -> MetricsPage {
        let page = MetricsPage()
        page.update(Array("hv_vm_up{vm=\"payroll-db\"} 1\n".utf8))
        return page
    }

    static func basic(_ pair: String) -> String { Data(pair.utf8).base64EncodedString() }

    static func get(_ path: String, _ headers: String = "") -> String {
        "GET \(path) HTTP/1.1\r\nHost: x\r\n\(headers)Connection: close\r\n\r\n"
    }

    @Test func withoutTheTokenEveryRequestGets401AndNoMetrics() async throws {
        let configuration = MetricsServerConfiguration(
            port: 0, authentication: try MetricsAuthentication(token: Self.token))
        try await withServer(configuration, page: Self.secretPage()) { port in
            for request in [
                Self.get("/metrics"), Self.get("/"), Self.get("/nope"),
                Self.get("/metrics", "Authorization: Bearer 0123456789abcdef0123456789abcdee\r\n"),
                // prometheus:TOKEN, while the server takes bearer tokens only.
                Self.get("/metrics", "Authorization: Basic \(Self.basic("prometheus:\(Self.token)"))\r\n"),
                "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
            ] {
                let response = try await exchange(port: port, request)
                #expect(response.hasPrefix("HTTP/1.1 401 Unauthorized\r\n"), "\(request)")
                #expect(response.contains("WWW-Authenticate: Bearer realm=\"hv-monitor\"\r\n"))
                #expect(!response.contains("Basic realm"))
                #expect(response.contains("Authorization: Bearer TOKEN"))
                #expect(!response.contains("hv_") && !response.contains("payroll-db") && !response.contains(Self.token))
            }
        }
    }

    @Test func theTokenOpensThePage() async throws {
        let configuration = MetricsServerConfiguration(
            port: 0, authentication: try MetricsAuthentication(token: Self.token))
        try await withServer(configuration, page: Self.secretPage()) { port in
            let response = try await exchange(
                port: port, Self.get("/metrics", "Authorization: Bearer \(Self.token)\r\n"))
            #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(response.hasSuffix("\r\n\r\nhv_vm_up{vm=\"payroll-db\"} 1\n"))
            // On one keep-alive connection each request is judged by its own header.
            let mixed = try await exchange(
                port: port,
                "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                    + Self.get("/metrics", "Authorization: Bearer \(Self.token)\r\n"))
            #expect(mixed.hasPrefix("HTTP/1.1 401 Unauthorized\r\n"))
            #expect(mixed.components(separatedBy: "HTTP/1.1 200 OK\r\n").count == 2)
            #expect(mixed.components(separatedBy: "payroll-db").count == 2)
        }
    }

    @Test func basicAuthUsesTheTokenAsPassword() async throws {
        let configuration = MetricsServerConfiguration(
            port: 0, authentication: try MetricsAuthentication(token: Self.token, basicAuthUser: "prometheus"))
        try await withServer(configuration, page: Self.secretPage()) { port in
            let credentials = Self.basic("prometheus:\(Self.token)")
            let response = try await exchange(
                port: port, Self.get("/metrics", "Authorization: Basic \(credentials)\r\n"))
            #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(response.contains("payroll-db"))
            let wrongUser = Self.basic("grafana:\(Self.token)")
            let refused = try await exchange(port: port, Self.get("/metrics", "Authorization: Basic \(wrongUser)\r\n"))
            #expect(refused.hasPrefix("HTTP/1.1 401 Unauthorized\r\n"))
            #expect(refused.contains("WWW-Authenticate: Basic realm=\"hv-monitor\", charset=\"UTF-8\"\r\n"))
            #expect(!refused.contains("payroll-db"))
        }
    }

    @Test func aServerWithoutAuthenticationWillNotListenBeyondLoopback() async throws {
        let server = MetricsServer(
            configuration: .init(host: "0.0.0.0", port: 0), page: MetricsPage(), logger: Logger(label: "test"))
        let error = await #expect(throws: MetricsError.self) { try await server.run() }
        #expect(error?.code == .unauthenticatedExposure)
        #expect(server.localAddress == nil)
    }

    @Test func servesHTTPSWithTheConfiguredCertificate() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (cert, key) = try directory.makeCertificate()
        var web = MetricsWebConfiguration()
        web.bearerTokenFile = try directory.write("metrics.token", Self.token + "\n", mode: 0o640)
        web.tlsCertificateFile = cert
        web.tlsKeyFile = key
        var configuration = MetricsServerConfiguration(port: 0)
        try web.apply(to: &configuration)

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(cert))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        do {
            try await withServer(configuration, page: Self.secretPage()) { port in
                var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/metrics")
                let refused = try await client.execute(request, timeout: .seconds(10))
                #expect(refused.status == .unauthorized)
                #expect(!String(buffer: try await refused.body.collect(upTo: 1 << 16)).contains("payroll-db"))

                request.headers.add(name: "Authorization", value: "Bearer \(Self.token)")
                let response = try await client.execute(request, timeout: .seconds(10))
                #expect(response.status == .ok)
                let body = String(buffer: try await response.body.collect(upTo: 1 << 16))
                #expect(body == "hv_vm_up{vm=\"payroll-db\"} 1\n")

                // Plain HTTP on the TLS port gets no page.
                let plain = try await exchange(
                    port: port, Self.get("/metrics", "Authorization: Bearer \(Self.token)\r\n"))
                #expect(!plain.contains("payroll-db") && !plain.contains("200 OK"))
            }
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    @Test func aKeyThatIsNotTheCertificatesIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (cert, _) = try directory.makeCertificate(name: "one")
        let (_, otherKey) = try directory.makeCertificate(name: "two")
        let error = #expect(throws: MetricsError.self) { try MetricsTLS(certificateFile: cert, keyFile: otherKey) }
        #expect(error?.code == .tlsUnusable)
        chmod(otherKey, 0o644)
        let open = #expect(throws: MetricsError.self) { try MetricsTLS(certificateFile: cert, keyFile: otherKey) }
        #expect(open?.code == .credentialsInsecure)
        #expect(open?.reason.hasPrefix("web.tls_key_file: ") == true)
        let missing = #expect(throws: MetricsError.self) {
            try MetricsTLS(certificateFile: directory.file("absent.pem"), keyFile: otherKey)
        }
        #expect(missing?.code == .tlsUnusable)
    }

    @Test func aBusyPortIsAListenError() async throws {
        try await withServer { port in
            let second = MetricsServer(
                configuration: .init(port: port), page: MetricsPage(), logger: Logger(label: "test"))
            let error = await #expect(throws: MetricsError.self) { try await second.run() }
            #expect(error?.code == .listenFailed)
        }
    }
}

/// Sends raw request bytes to 127.0.0.1:port and reads until the server closes the connection, on a
/// thread of its own: blocking a concurrency thread could starve the server's connection tasks.
func exchange(port: Int, _ request: String) async throws -> String {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try blockingExchange(port: port, request) })
        }
    }
}

func blockingExchange(port: Int, _ request: String) throws -> String {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw SetupError("socket failed") }
    defer { close(descriptor) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { throw SetupError("connect failed: \(errno)") }
    let bytes = Array(request.utf8)
    var sent = 0
    while sent < bytes.count {
        let count = bytes[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        // The server may close early (a refused request); what it answered is still readable.
        if count <= 0 { break }
        sent += count
    }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count <= 0 { break }
        response += buffer[0..<count]
    }
    return String(decoding: response, as: UTF8.self)
}
