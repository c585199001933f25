import HVProtocol

/// What one machine, or all machines of a group, take from the host.
public struct Usage: Sendable, Hashable {
    public var vms: Int
    public var vcpus: Int
    public var memory: ByteSize
    public var disk: ByteSize

    public init(vms: Int = 0, vcpus: Int = 0, memory: ByteSize = ByteSize(bytes: 0), disk: ByteSize = ByteSize(bytes: 0)) {
        self.vms = vms
        self.vcpus = vcpus
        self.memory = memory
        self.disk = disk
    }

    public static func + (lhs: Usage, rhs: Usage) -> Usage {
        Usage(
            vms: lhs.vms + rhs.vms, vcpus: lhs.vcpus + rhs.vcpus,
            memory: ByteSize(bytes: lhs.memory.bytes &+ rhs.memory.bytes), disk: ByteSize(bytes: lhs.disk.bytes &+ rhs.disk.bytes)
        )
    }

    public static func - (lhs: Usage, rhs: Usage) -> Usage {
        Usage(
            vms: max(0, lhs.vms - rhs.vms), vcpus: max(0, lhs.vcpus - rhs.vcpus),
            memory: ByteSize(bytes: lhs.memory.bytes > rhs.memory.bytes ? lhs.memory.bytes - rhs.memory.bytes : 0),
            disk: ByteSize(bytes: lhs.disk.bytes > rhs.disk.bytes ? lhs.disk.bytes - rhs.disk.bytes : 0)
        )
    }
}

/// What stored images occupy on disk, in bytes: the ISO library's in all, and by the group each
/// image is charged to (images without a group count in the library's total only).
public struct StoredImages: Sendable, Hashable {
    public var library: UInt64
    public var groups: [String: UInt64]

    public init(library: UInt64 = 0, groups: [String: UInt64] = [:]) {
        self.library = library
        self.groups = groups
    }

    /// Counts `bytes` more, charged to `group`.
    public mutating func add(_ bytes: UInt64, group: String?) {
        library &+= bytes
        if let group { groups[group, default: 0] &+= bytes }
    }

    public static func + (lhs: StoredImages, rhs: StoredImages) -> StoredImages {
        var sum = lhs
        sum.library &+= rhs.library
        sum.groups.merge(rhs.groups, uniquingKeysWith: &+)
        return sum
    }
}

extension HostPolicy {
    /// Refuses an image that would occupy `bytes` on disk, charged to `group`, when with it the
    /// ISO library would hold more than `iso.max_total` (for an image `inLibrary`) or the group's
    /// images (ISO images and imported templates) more than `groups.NAME.images`.
    ///
    /// - Parameter stored: what is stored without it, images being added by others included.
    public func checkImage(_ bytes: UInt64, group: String?, stored: StoredImages, inLibrary: Bool = true) throws(HVError) {
        guard bytes > 0 else { return }
        func asked(_ used: UInt64, _ limit: ByteSize) -> String {
            "\(ByteSize(bytes: used).readable) and this one needs \(ByteSize(bytes: bytes).readable), "
                + "\(ByteSize(bytes: used &+ bytes - limit.bytes).readable) more than is left"
        }
        let remove = "remove images no longer needed ('hv iso list' shows what each occupies and its group; 'hv iso remove NAME'; "
            + "imported templates: 'hv pool delete-volume NAME')"
        if inLibrary, let limit = iso.maxTotal, stored.library &+ bytes > limit.bytes {
            var error = Self.overLimit(
                "iso.max_total",
                "the ISO library may hold \(limit.readable) in all; its images take \(asked(stored.library, limit))",
                field: "file"
            )
            let now = hostDerived["iso.max_total"].map { " (now \($0))" } ?? ""
            error.fix = "\(remove), or ask an administrator to raise iso.max_total in the broker's policy file\(now)"
            throw error
        }
        if let group, let limit = groups[group]?.images, stored.groups[group, default: 0] &+ bytes > limit.bytes {
            var error = Self.overLimit(
                "groups.\(group).images",
                "group '\(group)' may store \(limit.readable) of images; its images take \(asked(stored.groups[group, default: 0], limit))",
                field: "file"
            )
            error.fix = "\(remove), or ask an administrator to raise groups.\(group).images in the broker's policy file"
            throw error
        }
    }

    /// The group a caller's machines are charged to: the first group (alphabetically) that has a
    /// quota and that the caller belongs to, else nil (no group quota applies).
    public func quotaGroup(for callerGroups: Set<String>) -> String? {
        groups.keys.sorted().first { callerGroups.contains($0) }
    }

    /// Refuses a machine larger than the per-machine limits, naming the limit.
    public func checkMachine(_ machine: Usage) throws(HVError) {
        if machine.vcpus > limits.vcpus {
            throw overMachineLimit("limits.vcpus", "a machine may have at most \(limits.vcpus) vCPUs; this one asks for \(machine.vcpus)", field: "vcpus")
        }
        if machine.memory > limits.memory {
            throw overMachineLimit(
                "limits.memory", "a machine may have at most \(limits.memory.readable) of memory; this one asks for \(machine.memory.readable)",
                field: "memory"
            )
        }
        if machine.disk > limits.disk {
            throw overMachineLimit(
                "limits.disk", "a machine's disks may add up to at most \(limits.disk.readable); these add up to \(machine.disk.readable)",
                field: "disks"
            )
        }
    }

    /// Refuses a change that would take `group` over its quota.
    ///
    /// - Parameters:
    ///   - current: what the group's machines use now.
    ///   - removing: what the machine being replaced uses now (zero for a new machine).
    ///   - adding: what it will use.
    public func checkGroup(_ group: String?, current: Usage, removing: Usage, adding: Usage) throws(HVError) {
        guard let group, let quota = groups[group] else { return }
        let after = current - removing + adding
        func check(_ name: String, _ limit: Int?, _ used: Int, _ asked: Int, _ unit: String) throws(HVError) {
            guard let limit, asked > 0, used > limit else { return }
            throw Self.overLimit(
                "groups.\(group).\(name)",
                "group '\(group)' may use \(limit)\(unit) in total; its machines use \(used - asked)\(unit) and this asks for \(asked) more",
                field: name
            )
        }
        try check("vms", quota.vms, after.vms, adding.vms - removing.vms, " machines")
        try check("vcpus", quota.vcpus, after.vcpus, adding.vcpus - removing.vcpus, " vCPUs")
        for (name, limit, used, asked) in [
            ("memory", quota.memory, after.memory, adding.memory.bytes.subtractingClamped(removing.memory.bytes)),
            ("disk", quota.disk, after.disk, adding.disk.bytes.subtractingClamped(removing.disk.bytes)),
        ] {
            guard let limit, asked > 0, used > limit else { continue }
            throw Self.overLimit(
                "groups.\(group).\(name)",
                "group '\(group)' may use \(limit.readable) of \(name) in total; its machines use "
                    + "\(ByteSize(bytes: used.bytes - asked).readable) and this asks for \(ByteSize(bytes: asked).readable) more",
                field: name
            )
        }
    }

    /// Over a per-machine limit; one that follows the host says so, and what it follows.
    func overMachineLimit(_ setting: String, _ reason: String, field: String) -> HVError {
        var error = Self.overLimit(setting, reason, field: field)
        if let host = hostDerived[setting] {
            error.fix = "ask for less: this host allows no more (\(host)); an administrator who wants to allow more "
                + "can set \(setting) in the broker's policy file (docs/POLICY.md)"
        }
        return error
    }

    static func overLimit(_ setting: String, _ reason: String, field: String) -> HVError {
        HVError(
            .quotaExceeded, "over the host policy limit \(setting): \(reason)",
            fix: "ask for less, remove machines you no longer need, or ask an administrator to raise \(setting) in the broker's policy file",
            details: ["limit": setting, "field": field]
        )
    }
}

extension UInt64 {
    func subtractingClamped(_ other: UInt64) -> UInt64 { self > other ? self - other : 0 }
}
