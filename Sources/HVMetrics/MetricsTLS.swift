import HVSystem
import NIOSSL

/// The certificate and key `/metrics` is served with over HTTPS (TLS 1.2 or later).
public struct MetricsTLS: Sendable {
    /// The server side of TLS, known to make a context: the certificate and key belong together.
    let configuration: TLSConfiguration

    /// Loads a PEM certificate chain (server certificate first) and its PEM private key. The key
    /// file gets ``HVSystem/SecretFile/metricsCredentials``' checks of owner and mode; the
    /// certificate is public.
    public init(
        certificateFile: String, keyFile: String, certificateField: String = "web.tls_cert_file",
        keyField: String = "web.tls_key_file"
    ) throws(MetricsError) {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw MetricsError(
                .tlsUnusable, "\(certificateField): cannot load a PEM certificate from \(certificateFile): \(error)")
        }
        guard !chain.isEmpty else {
            throw MetricsError(.tlsUnusable, "\(certificateField): \(certificateFile) holds no PEM certificate")
        }
        let keyBytes: [UInt8]
        do {
            keyBytes = try SecretFile.metricsCredentials.read(keyFile, field: keyField)
        } catch {
            throw MetricsError(error)
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw MetricsError(.tlsUnusable, "\(keyField): \(keyFile) holds no PEM private key")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw MetricsError(
                .tlsUnusable, "\(certificateFile) and \(keyFile) do not make a TLS context: \(error)",
                fix: "name in \(keyField) the key that \(certificateField)'s certificate was made for")
        }
        self.configuration = configuration
    }
}
