import HVProtocol

/// One notification channel from the `channels:` list.
public struct ChannelConfiguration: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case email(EmailSettings)
        case webhook(WebhookSettings)
    }

    /// How routes and rules refer to the channel.
    public var name: String
    public var kind: Kind

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

/// An SMTP server and the message's addresses.
public struct EmailSettings: Sendable, Hashable {
    public enum Security: String, Sendable, Hashable, CaseIterable {
        /// Plain connection upgraded with STARTTLS before anything else is said; the default.
        case starttls
        /// TLS from the first byte (port 465).
        case tls
        /// No TLS; allowed only for a relay on localhost.
        case none
    }

    public enum Authentication: String, Sendable, Hashable, CaseIterable {
        case plain
        case login
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    /// A file holding the password, readable only by the monitor's user.
    public var passwordFile: String?
    /// Forces a mechanism; nil picks PLAIN or LOGIN from what the server offers.
    public var authentication: Authentication?
    public var from: String
    public var to: [String]
    /// A PEM file of CA certificates to trust instead of the system's.
    public var caFile: String?
    /// The limit for each step of the SMTP exchange, in seconds.
    public var timeoutSeconds: Double

    public init(
        host: String, port: Int, security: Security = .starttls, username: String? = nil, passwordFile: String? = nil,
        authentication: Authentication? = nil, from: String, to: [String], caFile: String? = nil,
        timeoutSeconds: Double = 30
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.passwordFile = passwordFile
        self.authentication = authentication
        self.from = from
        self.to = to
        self.caFile = caFile
        self.timeoutSeconds = timeoutSeconds
    }
}

/// An HTTP endpoint that takes a JSON body.
public struct WebhookSettings: Sendable, Hashable {
    public enum Flavor: String, Sendable, Hashable, CaseIterable {
        /// Slack incoming webhook: `text` plus `blocks`.
        case slack
        /// Discord webhook: `content` plus `embeds`.
        case discord
        /// Microsoft Teams (Workflows): a message carrying an Adaptive Card.
        case teams
        /// Any receiver: the `AlertNotification` itself.
        case webhook
    }

    public enum Address: Sendable, Hashable {
        case url(String)
        /// A file holding the URL, for URLs that are secrets; read when sending.
        case file(String)
    }

    public var flavor: Flavor
    public var address: Address
    /// The limit for one request, in seconds.
    public var timeoutSeconds: Double

    public init(flavor: Flavor, address: Address, timeoutSeconds: Double = 10) {
        self.flavor = flavor
        self.address = address
        self.timeoutSeconds = timeoutSeconds
    }
}

/// How hard to try each channel: `attempts` tries, waiting `baseDelay`, then twice that, and so on.
public struct DeliveryPolicy: Sendable, Hashable {
    public var attempts: Int
    public var baseDelaySeconds: Double

    public init(attempts: Int = 3, baseDelaySeconds: Double = 2) {
        self.attempts = attempts
        self.baseDelaySeconds = baseDelaySeconds
    }

    /// The wait before attempt `attempt + 1` (attempts count from 1).
    public func delay(after attempt: Int) -> Double {
        baseDelaySeconds * Double(1 << min(attempt - 1, 20))
    }
}
