/// One disk: a new volume of `size`, or a copy-on-write overlay of the template volume `template`.
///
/// The volume is named `<machine>-<name>.qcow2` in `pool` (the broker's own pool when absent). With
/// a template, `size` is optional and grows the overlay beyond the template's size.
public struct DiskSpec: Codable, Sendable, Hashable {
    public var name: String
    public var size: ByteSize?
    public var template: String?
    public var pool: String?
    public var bus: DiskBus
    public var cache: CacheMode

    public init(
        name: String, size: ByteSize? = nil, template: String? = nil, pool: String? = nil,
        bus: DiskBus = .virtio, cache: CacheMode = .none
    ) {
        self.name = name
        self.size = size
        self.template = template
        self.pool = pool
        self.bus = bus
        self.cache = cache
    }

    /// The keys in the order spec files are written.
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case name, size, template, pool, bus, cache
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        size = try container.decodeIfPresent(ByteSize.self, forKey: .size)
        template = try container.decodeIfPresent(String.self, forKey: .template)
        pool = try container.decodeIfPresent(String.self, forKey: .pool)
        bus = try container.decodeIfPresent(DiskBus.self, forKey: .bus) ?? .virtio
        cache = try container.decodeIfPresent(CacheMode.self, forKey: .cache) ?? .none
    }
}
