import Foundation
import HTTPTypes
import HVMetrics
import HVMonitor
import HVProtocol
import HVTestSupport
import HummingbirdTesting
import Logging
import Testing

/// The `web` section: who may read `/metrics`, and when the monitor refuses to start.
@Suite struct MetricsAccessTests {
    static let token = "0123456789abcdef0123456789abcdef"

    @Test func withoutAWebSectionTheSetupsTokenIsRequired() throws {
        for settings in [
            try MonitorConfiguration.parse(yaml: "listen: 127.0.0.1:9478"),
            try MonitorConfiguration.load(path: "/nonexistent/monitor.yaml", missingIsDefault: true),
        ] {
            #expect(settings.web.bearerTokenFile == "/etc/hypervisor/metrics.token")
            #expect(!settings.web.allowUnauthenticated)
        }
    }

    @Test func everyKeyIsRead() throws {
        let settings = try MonitorConfiguration.parse(
            yaml: """
                web:
                  bearer_token_file: /run/secrets/metrics.token
                  basic_auth_user: prometheus
                  tls_cert_file: /etc/hypervisor/metrics.crt
                  tls_key_file: /etc/hypervisor/metrics.key
                """)
        #expect(settings.web.bearerTokenFile == "/run/secrets/metrics.token")
        #expect(settings.web.basicAuthUser == "prometheus")
        #expect(settings.web.tlsCertificateFile == "/etc/hypervisor/metrics.crt")
        #expect(settings.web.tlsKeyFile == "/etc/hypervisor/metrics.key")
        #expect(!settings.web.allowUnauthenticated)
        let open = try MonitorConfiguration.parse(yaml: "web: {allow_unauthenticated: true}")
        #expect(open.web.allowUnauthenticated)
    }

    /// Parses `yaml` with the token file's path put in for TOKEN, then loads the server's settings.
    func metricsServer(_ yaml: String, tokenMode: mode_t = 0o640) throws -> MetricsServerConfiguration {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("metrics.token", Self.token + "\n", mode: tokenMode)
        return try MonitorConfiguration.parse(yaml: yaml.replacingOccurrences(of: "TOKEN", with: file)).metricsServer()
    }

    @Test func theTokenIsLoadedAtStart() async throws {
        let server = try metricsServer("listen: 0.0.0.0:9478\nweb: {bearer_token_file: TOKEN}")
        #expect(server.host == "0.0.0.0" && server.tls == nil)
        let application = try MetricsServer.buildApplication(
            configuration: server, page: MetricsPage(), logger: Logger(label: "test"))
        try await application.test(.router) { client in
            let refused = try await client.execute(uri: "/metrics", method: .get)
            #expect(refused.status == .unauthorized)
            let admitted = try await client.execute(
                uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(Self.token)"])
            #expect(admitted.status == .ok)
        }
    }

    @Test func aWorldReadableTokenStopsTheStart() throws {
        let error = try #require(throws: MetricsError.self) {
            try metricsServer("web: {bearer_token_file: TOKEN}", tokenMode: 0o644)
        }
        #expect(error.code == .credentialsInsecure)
        #expect(error.reason.hasPrefix("web.bearer_token_file: "))
        let fix = try #require(error.fix)
        #expect(fix.contains("chown root:hypervisor-viewers") && fix.contains("chmod 0640"))
    }

    @Test func aMissingTokenFileStopsTheStartWithTheFix() throws {
        let settings = try MonitorConfiguration.parse(yaml: "web: {bearer_token_file: /nonexistent/metrics.token}")
        let error = try #require(throws: MetricsError.self) { try settings.metricsServer() }
        #expect(error.code == .credentialsUnreadable)
        #expect(error.description.contains("/nonexistent/metrics.token") && error.description.contains("chmod 0640"))
    }

    @Test(arguments: ["0.0.0.0:9478", "192.0.2.10:9478", "[::]:9478", "metrics.example.com:9478"])
    func noCredentialsOffLoopbackStopsTheStart(listen: String) throws {
        let error = try #require(throws: MetricsError.self) {
            try metricsServer("listen: \"\(listen)\"\nweb: {allow_unauthenticated: true}")
        }
        #expect(error.code == .unauthenticatedExposure)
        #expect(error.description.contains("web.allow_unauthenticated"))
    }

    @Test func noCredentialsOnLoopbackIsAllowedWhenAskedFor() throws {
        let server = try metricsServer("listen: 127.0.0.1:9478\nweb: {allow_unauthenticated: true}")
        #expect(server.authentication == nil)
        // An override of the address after parsing is checked too.
        var settings = try MonitorConfiguration.parse(yaml: "web: {allow_unauthenticated: true}")
        settings.metrics.host = "0.0.0.0"
        #expect(throws: MetricsError.self) { try settings.metricsServer() }
    }
}
