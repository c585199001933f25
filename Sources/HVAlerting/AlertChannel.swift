import AsyncHTTPClient
import Foundation
import HVProtocol
import NIOCore
import NIOHTTP1

/// Something that can deliver a notification: one attempt per call, throwing when it did not arrive.
public protocol AlertChannel: Sendable {
    var name: String { get }
    func send(_ notification: AlertNotification) async throws
}

/// Builds the channels of a configuration, checking every secret file now so a mistake shows at start.
public enum AlertChannels {
    public static func make(
        _ configuration: AlertConfiguration, httpClient: HTTPClient = .shared
    ) throws -> [String: any AlertChannel] {
        var channels: [String: any AlertChannel] = [:]
        for channel in configuration.channels {
            switch channel.kind {
            case .email(let settings):
                let email = EmailChannel(name: channel.name, settings: settings)
                _ = try email.password()
                channels[channel.name] = email
            case .webhook(let settings):
                let webhook = WebhookChannel(name: channel.name, settings: settings, client: httpClient)
                _ = try webhook.url()
                channels[channel.name] = webhook
            }
        }
        return channels
    }
}

/// Email through an SMTP server.
public struct EmailChannel: AlertChannel {
    public let name: String
    public let settings: EmailSettings

    public init(name: String, settings: EmailSettings) {
        self.name = name
        self.settings = settings
    }

    func password() throws -> String? {
        try settings.passwordFile.map { try ChannelSecret.read($0, field: "channels.\(name).password_file") }
    }

    public func send(_ notification: AlertNotification) async throws {
        let domain = settings.from.split(separator: "@").last.map(String.init) ?? "localhost"
        let message = EmailMessage(
            from: settings.from, to: settings.to, subject: NotificationText.title(notification),
            body: NotificationText.body(notification), date: Date(timeIntervalSince1970: notification.time),
            messageID: "\(UUID().uuidString.lowercased())@\(domain)")
        try await SMTPClient(settings: settings, password: try password()).send(message)
    }
}

/// A JSON POST to Slack, Discord, Teams or any receiver.
public struct WebhookChannel: AlertChannel {
    public let name: String
    public let settings: WebhookSettings
    let client: HTTPClient

    public init(name: String, settings: WebhookSettings, client: HTTPClient = .shared) {
        self.name = name
        self.settings = settings
        self.client = client
    }

    func url() throws -> String {
        switch settings.address {
        case .url(let url): return url
        case .file(let path):
            let field = "channels.\(name).url_file"
            let url = try ChannelSecret.read(path, field: field).trimmingCharacters(in: .whitespacesAndNewlines)
            try ChannelParser.checkURL(url, path: "\(field) (\(path))")
            return url
        }
    }

    public func send(_ notification: AlertNotification) async throws {
        var request = HTTPClientRequest(url: try url())
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "hv-monitor")
        request.body = .bytes(ByteBuffer(bytes: try WebhookPayloads.body(for: settings.flavor, notification)))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .milliseconds(Int64(settings.timeoutSeconds * 1_000)))
        } catch {
            throw AlertingError(.deliveryFailed, "\(settings.flavor.rawValue) webhook unreachable: \(error)")
        }
        let body = try? await response.body.collect(upTo: 64 * 1_024)
        guard (200..<300).contains(response.status.code) else {
            let text = body.map { String(buffer: $0).prefix(200) } ?? ""
            throw AlertingError(
                .deliveryFailed, "\(settings.flavor.rawValue) webhook answered \(response.status.code) \(text)")
        }
    }
}
