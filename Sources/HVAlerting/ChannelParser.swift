import Foundation
import Yams

/// Reads one entry of `channels:`.
enum ChannelParser {
    static let emailKeys = [
        "name", "type", "host", "port", "tls", "username", "password_file", "password", "auth", "from", "to",
        "ca_file", "timeout",
    ]
    static let webhookKeys = ["name", "type", "url", "url_file", "timeout"]
    static let types = ["email", "slack", "discord", "teams", "webhook"]

    static func parse(_ node: Node, path: String) throws -> ChannelConfiguration {
        // The type decides which keys are allowed, so read it before checking the others.
        guard case .mapping(let mapping) = node else { throw AlertingError.invalid(path, "expected a mapping of keys to values") }
        guard let typeNode = mapping.first(where: { $0.key.string == "type" })?.value, let type = typeNode.string else {
            throw AlertingError.invalid(YAMLFields.join(path, "type"), "is required: one of \(types.joined(separator: ", "))")
        }
        guard types.contains(type) else {
            throw AlertingError.invalid(
                YAMLFields.join(path, "type"), "\"\(type)\" is not one of \(types.joined(separator: ", "))")
        }
        let fields = try YAMLFields(node, path: path, allowed: type == "email" ? emailKeys : webhookKeys)
        let name = try fields.requiredString("name")
        guard name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else {
            throw AlertingError.invalid(fields.field("name"), "\"\(name)\" may use only letters, digits, - and _")
        }
        if type == "email" { return ChannelConfiguration(name: name, kind: .email(try email(fields))) }
        let flavor = WebhookSettings.Flavor(rawValue: type) ?? .webhook
        return ChannelConfiguration(name: name, kind: .webhook(try webhook(fields, flavor: flavor)))
    }

    static func isLoopback(_ host: String) -> Bool {
        ["localhost", "127.0.0.1", "::1", "[::1]"].contains(host.lowercased())
    }

    private static func email(_ fields: YAMLFields) throws -> EmailSettings {
        if fields.has("password") {
            throw AlertingError.invalid(
                fields.field("password"), "passwords do not belong in this file",
                fix: "write the password to a file readable only by the monitor's user and set password_file")
        }
        let host = try fields.requiredString("host")
        guard host.count <= 253, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:".contains($0)) })
        else { throw AlertingError.invalid(fields.field("host"), "\"\(host)\" is not a host name or address") }
        let securityText = try fields.string("tls") ?? "starttls"
        guard let security = EmailSettings.Security(rawValue: securityText) else {
            throw AlertingError.invalid(fields.field("tls"), "\"\(securityText)\" is not starttls, tls or none")
        }
        if security == .none, !isLoopback(host) {
            throw AlertingError.invalid(
                fields.field("tls"), "none is allowed only for a relay on localhost; \(host) would see the password and alerts in clear",
                fix: "use tls: starttls (the default) or tls")
        }
        let defaultPort = switch security {
        case .starttls: 587
        case .tls: 465
        case .none: 25
        }
        let username = try fields.string("username")
        let passwordFile = try fields.string("password_file")
        if (username == nil) != (passwordFile == nil) {
            throw AlertingError.invalid(
                fields.field(username == nil ? "password_file" : "username"), "needs both username and password_file")
        }
        var authentication: EmailSettings.Authentication?
        if let text = try fields.string("auth") {
            guard let value = EmailSettings.Authentication(rawValue: text) else {
                throw AlertingError.invalid(fields.field("auth"), "\"\(text)\" is not plain or login")
            }
            authentication = value
        }
        let from = try fields.requiredString("from")
        try checkAddress(from, path: fields.field("from"))
        guard let to = try fields.strings("to"), !to.isEmpty else {
            throw AlertingError.invalid(fields.field("to"), "is required: a list of addresses")
        }
        for (index, address) in to.enumerated() { try checkAddress(address, path: "\(fields.field("to"))[\(index)]") }
        return EmailSettings(
            host: host, port: try fields.integer("port", in: 1...65_535) ?? defaultPort, security: security,
            username: username, passwordFile: passwordFile, authentication: authentication, from: from, to: to,
            caFile: try fields.string("ca_file"), timeoutSeconds: try fields.duration("timeout", minimum: 1) ?? 30)
    }

    private static func checkAddress(_ address: String, path: String) throws {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, address.count <= 254,
            address.allSatisfy({ $0.isASCII && !$0.isWhitespace && !"<>(),;:\"[]\\".contains($0) })
        else { throw AlertingError.invalid(path, "\"\(address)\" is not a plain email address like ops@example.com") }
    }

    private static func webhook(_ fields: YAMLFields, flavor: WebhookSettings.Flavor) throws -> WebhookSettings {
        let address: WebhookSettings.Address
        switch (try fields.string("url"), try fields.string("url_file")) {
        case (let url?, nil):
            try checkURL(url, path: fields.field("url"))
            address = .url(url)
        case (nil, let file?):
            address = .file(file)
        default:
            throw AlertingError.invalid(
                fields.path, "needs exactly one of url or url_file",
                fix: "use url_file for a URL that is itself a secret (Slack, Discord and Teams URLs are)")
        }
        return WebhookSettings(
            flavor: flavor, address: address, timeoutSeconds: try fields.duration("timeout", minimum: 1) ?? 10)
    }

    /// An `https` URL, or `http` to a loopback host.
    static func checkURL(_ text: String, path: String) throws {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else { throw AlertingError.invalid(path, "is not a URL") }
        guard scheme == "https" || (scheme == "http" && isLoopback(host)) else {
            throw AlertingError.invalid(path, "must use https (plain http is allowed only to localhost)")
        }
    }
}
