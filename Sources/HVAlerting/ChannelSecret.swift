import HVSystem

/// The alerting channels' secrets (SMTP passwords, webhook URLs): files that only the monitor's
/// user may read, checked by ``HVSystem/SecretFile``.
public enum ChannelSecret {
    /// The secret in `path` without its trailing line breaks; `field` names the setting in errors.
    public static func read(_ path: String, field: String) throws(AlertingError) -> String {
        let secret: String
        do {
            secret = try SecretFile().readText(path, field: field)
        } catch {
            throw AlertingError(.insecureSecret, error.reason, fix: error.fix)
        }
        guard !secret.isEmpty else { throw AlertingError(.insecureSecret, "\(field): \(path) is empty") }
        return secret
    }
}
