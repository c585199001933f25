import Foundation

/// A private temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "hv-test") throws {
        var template = Array((NSTemporaryDirectory() + "\(label)-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw SetupError("mkdtemp failed") }
        path = String(cString: made)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    public func write(_ name: String, _ text: String, mode: mode_t = 0o600) throws -> String {
        let target = file(name)
        try text.write(toFile: target, atomically: false, encoding: .utf8)
        chmod(target, mode)
        return target
    }

    /// A self-signed certificate for localhost and 127.0.0.1 and its key, made with openssl.
    public func makeCertificate(name: String = "cert") throws -> (cert: String, key: String) {
        let cert = file("\(name).pem")
        let key = file("\(name)-key.pem")
        let status = try run([
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]).status
        guard status == 0 else { throw SetupError("openssl req failed with \(status)") }
        return (cert, key)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
