/// Who may read `/metrics` and whether it is served over HTTPS: the `web` section of the monitor's
/// configuration, after the web configuration of Prometheus' exporter toolkit (flattened, and
/// with one token file instead of bcrypt hashes).
///
/// A token is required by default: ``bearerTokenFile`` is `/etc/hypervisor/metrics.token` unless
/// set otherwise. Only ``allowUnauthenticated`` turns authentication off, and only on loopback.
public struct MetricsWebConfiguration: Sendable, Hashable {
    /// Where the setup and the NixOS module write the token.
    public static let defaultTokenFile = "/etc/hypervisor/metrics.token"

    /// The file holding the token (`web.bearer_token_file`).
    public var bearerTokenFile = Self.defaultTokenFile
    /// Also accept basic authentication as this user, the token being the password (`web.basic_auth_user`).
    public var basicAuthUser: String?
    /// Serve HTTPS with this PEM certificate chain (`web.tls_cert_file`) ...
    public var tlsCertificateFile: String?
    /// ... and this PEM private key (`web.tls_key_file`).
    public var tlsKeyFile: String?
    /// Serve anyone who can connect (`web.allow_unauthenticated: true`); refused off loopback.
    public var allowUnauthenticated = false

    public init() {}

    /// Reads the files the section names into `server`'s authentication and TLS, then checks
    /// that an unauthenticated server listens on loopback only. Call it after every override of
    /// the listen address.
    /// `server` is left as it was when this throws.
    public func apply(to server: inout MetricsServerConfiguration) throws(MetricsError) {
        var configured = server
        configured.authentication =
            allowUnauthenticated
            ? nil : try MetricsAuthentication.load(tokenFile: bearerTokenFile, basicAuthUser: basicAuthUser)
        configured.tls = nil
        if let tlsCertificateFile, let tlsKeyFile {
            configured.tls = try MetricsTLS(certificateFile: tlsCertificateFile, keyFile: tlsKeyFile)
        }
        try configured.checkExposure()
        server = configured
    }
}
