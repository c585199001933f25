/// One network interface, on a managed libvirt network or on a bridge from the admin's allow-list
/// (exactly one of the two).
public struct NicSpec: Codable, Sendable, Hashable {
    public var network: String?
    public var bridge: String?
    public var model: NicModel
    /// `xx:xx:xx:xx:xx:xx`; libvirt chooses one when absent.
    public var mac: String?

    public init(network: String? = nil, bridge: String? = nil, model: NicModel = .virtio, mac: String? = nil) {
        self.network = network
        self.bridge = bridge
        self.model = model
        self.mac = mac
    }

    /// The keys in the order spec files are written.
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case network, bridge, model, mac
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        network = try container.decodeIfPresent(String.self, forKey: .network)
        bridge = try container.decodeIfPresent(String.self, forKey: .bridge)
        model = try container.decodeIfPresent(NicModel.self, forKey: .model) ?? .virtio
        mac = try container.decodeIfPresent(String.self, forKey: .mac)
    }
}
