/// A storage pool machines may place disks in.
public struct PoolInfo: Codable, Sendable, Hashable {
    public var name: String
    public var active: Bool
    public var autostart: Bool
    public var capacity: ByteSize
    public var allocation: ByteSize
    public var available: ByteSize
    /// Whether the host policy lets operators place disks here.
    public var allowed: Bool

    public init(name: String, active: Bool, autostart: Bool, capacity: ByteSize, allocation: ByteSize, available: ByteSize, allowed: Bool) {
        self.name = name
        self.active = active
        self.autostart = autostart
        self.capacity = capacity
        self.allocation = allocation
        self.available = available
        self.allowed = allowed
    }
}

/// A volume in a pool; never its host path.
public struct VolumeInfo: Codable, Sendable, Hashable {
    public var pool: String
    public var name: String
    public var format: String
    public var capacity: ByteSize
    public var allocation: ByteSize
    public var template: Bool
    /// The template this volume is a copy-on-write overlay of, if any.
    public var backingTemplate: String?

    public init(pool: String, name: String, format: String, capacity: ByteSize, allocation: ByteSize, template: Bool, backingTemplate: String?) {
        self.pool = pool
        self.name = name
        self.format = format
        self.capacity = capacity
        self.allocation = allocation
        self.template = template
        self.backingTemplate = backingTemplate
    }
}

public struct PoolListReply: Codable, Sendable, Hashable {
    public var pools: [PoolInfo]
    public init(pools: [PoolInfo]) { self.pools = pools }
}

public struct VolumeListParameters: Codable, Sendable, Hashable {
    public var pool: String?
    public init(pool: String? = nil) { self.pool = pool }
}

public struct VolumeListReply: Codable, Sendable, Hashable {
    public var volumes: [VolumeInfo]
    public init(volumes: [VolumeInfo]) { self.volumes = volumes }
}

/// Create (with `size`) or Resize (grow to `size`).
public struct VolumeSizeParameters: Codable, Sendable, Hashable {
    public var pool: String?
    public var name: String
    public var size: ByteSize
    public init(pool: String? = nil, name: String, size: ByteSize) {
        self.pool = pool
        self.name = name
        self.size = size
    }
}

/// Delete or MarkTemplate.
public struct VolumeNameParameters: Codable, Sendable, Hashable {
    public var pool: String?
    public var name: String
    public init(pool: String? = nil, name: String) {
        self.pool = pool
        self.name = name
    }
}

public struct VolumeReply: Codable, Sendable, Hashable {
    public var volume: VolumeInfo
    public init(volume: VolumeInfo) { self.volume = volume }
}

/// Volume names: a machine-name-like stem, optionally ending in `.qcow2` or `.img`.
public enum VolumeName {
    public static func validate(_ name: String, field: String = "name") throws(HVError) {
        var stem = name
        for suffix in [".qcow2", ".img"] where stem.hasSuffix(suffix) { stem = String(stem.dropLast(suffix.count)) }
        if VmName.problem(with: stem) != nil || name.contains("/") {
            throw .invalidParameter(
                field, "'\(VmName.printable(name))' is not a volume name\(name.contains("/") ? ": paths are not accepted" : "")",
                fix: "use letters, digits, '.', '_' or '-' (as 'hv pool volumes' shows them), optionally ending in .qcow2"
            )
        }
    }
}
