/// The display: VNC or SPICE, reachable only through the broker.
public struct GraphicsSpec: Codable, Sendable, Hashable {
    public var type: GraphicsType
    public var listen: GraphicsListen

    public init(type: GraphicsType, listen: GraphicsListen = .broker) {
        self.type = type
        self.listen = listen
    }

    /// The keys in the order spec files are written.
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case type, listen
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(GraphicsType.self, forKey: .type)
        listen = try container.decodeIfPresent(GraphicsListen.self, forKey: .listen) ?? .broker
    }
}

/// Whether the machine starts with the host, and in which order (lower first).
public struct AutostartSpec: Codable, Sendable, Hashable {
    public var enabled: Bool
    public var order: Int

    public init(enabled: Bool, order: Int = 0) {
        self.enabled = enabled
        self.order = order
    }

    public static let orderRange = 0...999

    /// The keys in the order spec files are written.
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case enabled, order
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        enabled = try container.decode(Bool.self, forKey: .enabled)
        order = try container.decodeIfPresent(Int.self, forKey: .order) ?? 0
    }
}

/// The data of a cloud-init NoCloud seed. The broker builds the seed image; the client only sends text.
public struct CloudInitSpec: Codable, Sendable, Hashable {
    /// Starts with `#cloud-config` or `#!`.
    public var userData: String
    public var metaData: String?
    public var networkConfig: String?

    public init(userData: String, metaData: String? = nil, networkConfig: String? = nil) {
        self.userData = userData
        self.metaData = metaData
        self.networkConfig = networkConfig
    }

    /// The keys in the order spec files are written.
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case userData = "user_data"
        case metaData = "meta_data"
        case networkConfig = "network_config"
    }
}
