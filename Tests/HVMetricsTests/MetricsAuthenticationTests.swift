import Foundation
import HTTPTypes
import HVMetrics
import HVTestSupport
import Testing

@Suite struct MetricsAuthenticationTests {
    static let token = "0123456789abcdef0123456789abcdef"

    static func headers(_ authorization: String...) -> HTTPFields {
        HTTPFields(authorization.map { HTTPField(name: .authorization, value: $0) })
    }

    static func basic(_ pair: String) -> String { "Basic " + Data(pair.utf8).base64EncodedString() }

    @Test func bearerTokenIsAdmitted() throws {
        let authentication = try MetricsAuthentication(token: Self.token)
        #expect(authentication.admits(Self.headers("Bearer \(Self.token)")))
        #expect(authentication.admits(Self.headers("bearer  \(Self.token)")))
        #expect(authentication.challenges == ["Bearer realm=\"hv-monitor\""])
    }

    @Test(arguments: [
        [], ["Bearer"], ["Bearer "], ["Bearer 0123456789abcdef0123456789abcdee"],
        ["Bearer 0123456789abcdef0123456789abcdef0"], ["Bearer 0123456789abcdef0123456789abcde"],
        ["Token 0123456789abcdef0123456789abcdef"], ["0123456789abcdef0123456789abcdef"],
        // Two headers, even with one right, are refused rather than guessed between.
        ["Bearer 0123456789abcdef0123456789abcdef", "Bearer wrong"],
        // Basic authentication is refused while no basic-auth user is configured.
        [basic("prometheus:0123456789abcdef0123456789abcdef")],
    ])
    func anythingElseIsRefused(authorization: [String]) throws {
        let authentication = try MetricsAuthentication(token: Self.token)
        #expect(!authentication.admits(HTTPFields(authorization.map { HTTPField(name: .authorization, value: $0) })))
    }

    @Test func basicAuthTakesTheUserAndTheTokenAsPassword() throws {
        let authentication = try MetricsAuthentication(token: Self.token, basicAuthUser: "prometheus")
        #expect(authentication.admits(Self.headers(Self.basic("prometheus:\(Self.token)"))))
        #expect(authentication.admits(Self.headers("Bearer \(Self.token)")))
        #expect(!authentication.admits(Self.headers(Self.basic("grafana:\(Self.token)"))))
        #expect(!authentication.admits(Self.headers(Self.basic("prometheus:wrong"))))
        #expect(!authentication.admits(Self.headers(Self.basic("prometheus\(Self.token)"))))
        #expect(!authentication.admits(Self.headers("Basic not*base64")))
        let challenges = ["Bearer realm=\"hv-monitor\"", "Basic realm=\"hv-monitor\", charset=\"UTF-8\""]
        #expect(authentication.challenges == challenges)
    }

    @Test(arguments: ["", "short", "0123456789abcdef 0123456789abcdef", "0123456789abcdef\u{7}0123456789abcdef"])
    func weakOrMalformedTokensAreRefused(token: String) {
        let error = #expect(throws: MetricsError.self) { try MetricsAuthentication(token: token) }
        #expect(error?.code == .credentialsInvalid)
    }

    @Test(arguments: ["", "a:b"])
    func basicAuthUserWithoutAName(user: String) {
        let error = #expect(throws: MetricsError.self) {
            try MetricsAuthentication(token: Self.token, basicAuthUser: user)
        }
        #expect(error?.code == .credentialsInvalid)
    }

    @Test func theTokenIsNeverShown() throws {
        let authentication = try MetricsAuthentication(token: Self.token, basicAuthUser: "prometheus")
        var dumped = ""
        dump(authentication, to: &dumped)
        for text in ["\(authentication)", String(reflecting: authentication), dumped] {
            #expect(!text.contains(Self.token) && !text.contains("48, 49"), "\(text)")
        }
        #expect(!authentication.refusal.contains(Self.token))
    }

    // MARK: the token file

    @Test func theTokenFileIsReadWithoutItsNewline() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("metrics.token", Self.token + "\n", mode: 0o640)
        let authentication = try MetricsAuthentication.load(tokenFile: file)
        // The token is compared whole, so a newline kept in it would refuse the bare token.
        #expect(authentication.admits(Self.headers("Bearer \(Self.token)")))
        #expect(!authentication.admits(Self.headers("Bearer \(Self.token)x")))
        let crlf = try directory.write("crlf.token", Self.token + "\r\n", mode: 0o640)
        #expect(try MetricsAuthentication.load(tokenFile: crlf).admits(Self.headers("Bearer \(Self.token)")))
    }

    @Test(arguments: [0o644, 0o604, 0o660, 0o666, 0o641])
    func aTokenFileOpenToOthersOrWritableByItsGroupIsRefused(mode: Int) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("metrics.token", Self.token, mode: mode_t(mode))
        let error = try #require(throws: MetricsError.self) { try MetricsAuthentication.load(tokenFile: file) }
        #expect(error.code == .credentialsInsecure)
        #expect(error.reason.hasPrefix("web.bearer_token_file: \(file) is open to"))
        #expect(error.fix == "chown root:hypervisor-viewers \(file) && chmod 0640 \(file)")
    }

    @Test func missingEmptyAndNonRegularTokenFilesAreRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let missing = try #require(throws: MetricsError.self) {
            try MetricsAuthentication.load(tokenFile: directory.file("absent"))
        }
        #expect(missing.code == .credentialsUnreadable)
        #expect(missing.fix?.contains("scripts/setup.sh") == true)
        let empty = try directory.write("empty", "\n", mode: 0o600)
        let emptyError = #expect(throws: MetricsError.self) { try MetricsAuthentication.load(tokenFile: empty) }
        #expect(emptyError?.code == .credentialsInvalid)
        #expect(emptyError?.reason.hasPrefix("web.bearer_token_file: \(empty): ") == true)
        let fifo = directory.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let fifoError = #expect(throws: MetricsError.self) { try MetricsAuthentication.load(tokenFile: fifo) }
        #expect(fifoError?.code == .credentialsInsecure)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to give the file to another user"))
    func aTokenFileOwnedByAnotherUserIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("metrics.token", Self.token, mode: 0o640)
        #expect(chown(file, 65_534, 0) == 0)
        let error = #expect(throws: MetricsError.self) { try MetricsAuthentication.load(tokenFile: file) }
        #expect(error?.code == .credentialsInsecure)
    }

    // MARK: exposure

    @Test(arguments: [
        ("127.0.0.1", true), ("127.1.2.3", true), ("localhost", true), ("::1", true), ("::ffff:127.0.0.1", true),
        ("0.0.0.0", false), ("::", false), ("192.0.2.10", false), ("2001:db8::1", false), ("::ffff:192.0.2.1", false),
        ("metrics.example.com", false), ("128.0.0.1", false),
    ])
    func loopbackAddresses(host: String, loopback: Bool) {
        #expect(MetricsServerConfiguration(host: host).listensOnLoopback == loopback)
    }

    @Test func withoutAuthenticationOnlyLoopbackIsServed() throws {
        try MetricsServerConfiguration(host: "127.0.0.1").checkExposure()
        let error = try #require(throws: MetricsError.self) {
            try MetricsServerConfiguration(host: "0.0.0.0").checkExposure()
        }
        #expect(error.code == .unauthenticatedExposure)
        #expect(error.fix?.contains("web.allow_unauthenticated") == true)
        try MetricsServerConfiguration(host: "0.0.0.0", authentication: try MetricsAuthentication(token: Self.token))
            .checkExposure()
    }

    @Test func theWebSectionLoadsTheTokenAndRefusesExposure() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var web = MetricsWebConfiguration()
        web.bearerTokenFile = try directory.write("metrics.token", Self.token + "\n", mode: 0o640)
        var server = MetricsServerConfiguration(host: "0.0.0.0")
        try web.apply(to: &server)
        #expect(server.authentication?.admits(Self.headers("Bearer \(Self.token)")) == true)
        #expect(server.tls == nil)

        web.allowUnauthenticated = true
        let error = #expect(throws: MetricsError.self) { try web.apply(to: &server) }
        #expect(error?.code == .unauthenticatedExposure)
        var loopback = MetricsServerConfiguration()
        try web.apply(to: &loopback)
        #expect(loopback.authentication == nil)
    }

    @Test func theDefaultIsTheSetupsTokenFile() {
        let web = MetricsWebConfiguration()
        #expect(web.bearerTokenFile == "/etc/hypervisor/metrics.token")
        #expect(!web.allowUnauthenticated)
    }
}
