import Foundation
import HVProtocol
import HVSpec
import HVYAML
import Yams

/// The administrator's rules for what operators may ask of this host, read from
/// `/etc/hypernixos/policy.yaml` (root-owned; the broker's `--policy` option).
///
/// A missing file means the defaults: per-machine limits and the ISO library's total that follow
/// the host (`HostCapacity`), no group quotas, no bridges, only the broker's own pool, and the
/// `default` network. A limit the file does not set follows the host too.
public struct HostPolicy: Codable, Sendable, Hashable {
    public var limits: Limits
    /// The limits that follow the host rather than the file, by setting (`limits.memory`,
    /// `iso.max_total`), with why they are what they are; not part of the file.
    public var hostDerived: [String: String] = [:]
    /// Quotas per operator group, by group name. A caller in several listed groups is charged to
    /// the first of them in alphabetical order.
    public var groups: [String: GroupQuota]
    /// Host bridges a machine's interface may join; anything else is refused.
    public var bridges: [String]
    /// Storage pools machines may place disks in.
    public var pools: [String]
    /// The network an interface without a source joins, and the one `hv` suggests.
    public var defaultNetwork: String
    public var iso: IsoPolicy

    public init(
        limits: Limits = Limits(), groups: [String: GroupQuota] = [:], bridges: [String] = [],
        pools: [String] = ["hypervisor-images"], defaultNetwork: String = "default", iso: IsoPolicy = IsoPolicy()
    ) {
        self.limits = limits
        self.groups = groups
        self.bridges = bridges
        self.pools = pools
        self.defaultNetwork = defaultNetwork
        self.iso = iso
    }

    enum CodingKeys: String, CodingKey {
        case limits, groups, bridges, pools, iso
        case defaultNetwork = "default_network"
    }

    public init(from decoder: any Decoder) throws {
        let defaults = HostPolicy()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        limits = try container.decodeIfPresent(Limits.self, forKey: .limits) ?? defaults.limits
        groups = try container.decodeIfPresent([String: GroupQuota].self, forKey: .groups) ?? defaults.groups
        bridges = try container.decodeIfPresent([String].self, forKey: .bridges) ?? defaults.bridges
        pools = try container.decodeIfPresent([String].self, forKey: .pools) ?? defaults.pools
        defaultNetwork = try container.decodeIfPresent(String.self, forKey: .defaultNetwork) ?? defaults.defaultNetwork
        iso = try container.decodeIfPresent(IsoPolicy.self, forKey: .iso) ?? defaults.iso
    }

    /// The largest machine anyone may define here. The plain initializer's defaults are the
    /// largest a spec may ask at all; `HostCapacity.limits` gives the host's.
    public struct Limits: Codable, Sendable, Hashable {
        public var vcpus: Int
        public var memory: ByteSize
        /// The sum of a machine's disk sizes.
        public var disk: ByteSize

        public init(vcpus: Int = 64, memory: ByteSize = .tebibytes(1), disk: ByteSize = .tebibytes(16)) {
            self.vcpus = vcpus
            self.memory = memory
            self.disk = disk
        }

        public init(from decoder: any Decoder) throws {
            let defaults = Limits()
            let container = try decoder.container(keyedBy: CodingKeys.self)
            vcpus = try container.decodeIfPresent(Int.self, forKey: .vcpus) ?? defaults.vcpus
            memory = try container.decodeIfPresent(ByteSize.self, forKey: .memory) ?? defaults.memory
            disk = try container.decodeIfPresent(ByteSize.self, forKey: .disk) ?? defaults.disk
        }

        enum CodingKeys: String, CodingKey { case vcpus, memory, disk }
    }

    /// What all machines owned by one group may add up to, and what its stored images may take.
    /// An absent field is not limited.
    public struct GroupQuota: Codable, Sendable, Hashable {
        public var vms: Int?
        public var vcpus: Int?
        public var memory: ByteSize?
        public var disk: ByteSize?
        /// The disk space of the images charged to the group (those its members added to the ISO
        /// library), as they occupy it: holes in a sparse image take nothing.
        public var images: ByteSize?

        public init(vms: Int? = nil, vcpus: Int? = nil, memory: ByteSize? = nil, disk: ByteSize? = nil, images: ByteSize? = nil) {
            self.vms = vms
            self.vcpus = vcpus
            self.memory = memory
            self.disk = disk
            self.images = images
        }
    }

    /// The ISO library's limits.
    public struct IsoPolicy: Codable, Sendable, Hashable {
        /// The largest image, by its length.
        public var maxSize: ByteSize
        /// What all the library's images may occupy on disk together; nil is no limit (the file
        /// does not set it and the host could not be read).
        public var maxTotal: ByteSize?
        /// A gpgv keyring; when set, `hv iso add --signature` is checked against it.
        public var keyring: String?

        public init(maxSize: ByteSize = .gibibytes(16), maxTotal: ByteSize? = nil, keyring: String? = nil) {
            self.maxSize = maxSize
            self.maxTotal = maxTotal
            self.keyring = keyring
        }

        enum CodingKeys: String, CodingKey {
            case maxSize = "max_size"
            case maxTotal = "max_total"
            case keyring
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            maxSize = try container.decodeIfPresent(ByteSize.self, forKey: .maxSize) ?? .gibibytes(16)
            maxTotal = try container.decodeIfPresent(ByteSize.self, forKey: .maxTotal)
            keyring = try container.decodeIfPresent(String.self, forKey: .keyring)
        }
    }
}

extension HostPolicy {
    /// Reads the policy file; a missing file gives the defaults, anything unreadable or invalid is
    /// an error that names the file and the field, so the broker refuses to start on a typo.
    ///
    /// - Parameter host: what the host can give one machine and where the ISO library lives; the
    ///   per-machine limits and the library's total the file does not set follow it. Without it
    ///   the limits are the largest a spec may ask, and the library's total is not limited.
    public static func load(path: String, host: HostCapacity? = nil) throws(PolicyError) -> HostPolicy {
        guard FileManager.default.fileExists(atPath: path) else { return HostPolicy().following(host, except: []) }
        return try read(path: path, host: host) { () throws(YAMLError) in try YAMLReader.root(contentsOfFile: path) }
    }

    /// Parses policy YAML; unknown fields are refused (a misspelt limit must not silently vanish).
    public static func parse(_ text: String, path: String = "policy.yaml", host: HostCapacity? = nil) throws(PolicyError) -> HostPolicy {
        try read(path: path, host: host) { () throws(YAMLError) in try YAMLReader.root(text, name: path) }
    }

    /// The policy in the document `root` reads with `YAMLReader`, under its rules.
    private static func read(path: String, host: HostCapacity?, _ root: () throws(YAMLError) -> Node?) throws(PolicyError) -> HostPolicy {
        let document: Node?
        do {
            document = try root()
        } catch {
            throw PolicyError(path: path, field: error.path, reason: error.located, fix: error.fix)
        }
        guard let document else { return HostPolicy().following(host, except: []) }
        guard case .object(let object) = JSONValue(yaml: document) else {
            throw PolicyError(path: path, field: "", reason: "must be a mapping of settings (limits, groups, bridges, pools, default_network, iso)")
        }
        let policy: HostPolicy
        do {
            policy = try StrictDecoding.decode(HostPolicy.self, from: object)
        } catch {
            throw PolicyError(path: path, field: error.details["parameter"] ?? "", reason: error.reason)
        }
        try policy.validate(path: path)
        var written: Set<String> = []
        for section in ["limits", "iso"] {
            guard case .object(let settings)? = object[section] else { continue }
            written.formUnion(settings.keys.map { section + "." + $0 })
        }
        return policy.following(host, except: written)
    }

    /// This policy with the limits not in `written` (`limits.vcpus`, `limits.memory`,
    /// `limits.disk`, `iso.max_total`) taken from the host.
    func following(_ host: HostCapacity?, except written: Set<String>) -> HostPolicy {
        guard let host else { return self }
        var policy = self
        let reasons = host.reasons
        func follow<Value>(_ setting: String, _ limit: WritableKeyPath<HostPolicy, Value>, _ value: Value) {
            guard !written.contains(setting) else { return }
            policy[keyPath: limit] = value
            policy.hostDerived[setting] = reasons[setting]
        }
        let derived = host.limits
        follow("limits.vcpus", \.limits.vcpus, derived.vcpus)
        follow("limits.memory", \.limits.memory, derived.memory)
        follow("limits.disk", \.limits.disk, derived.disk)
        follow("iso.max_total", \.iso.maxTotal, host.isoTotal)
        return policy
    }

    /// The host-wide limits in force and where each comes from, by setting, for the broker's
    /// start-up log: `21.5 GiB (the host's 24 GiB of memory less 2.4 GiB kept for the host)`;
    /// `otherwise` says where the limits that do not follow the host come from.
    public func limitsInForce(otherwise: String) -> [String: String] {
        var summary = [
            ("limits.vcpus", limits.vcpus == 1 ? "1 vCPU" : "\(limits.vcpus) vCPUs"), ("limits.memory", limits.memory.readable),
            ("limits.disk", limits.disk.readable), ("iso.max_total", iso.maxTotal?.readable ?? ""),
        ].reduce(into: [:]) { summary, entry in
            summary[entry.0] = "\(entry.1) (\(hostDerived[entry.0] ?? otherwise))"
        }
        if iso.maxTotal == nil { summary["iso.max_total"] = "no limit (the host's disk could not be read)" }
        return summary
    }

    func validate(path: String) throws(PolicyError) {
        func name(_ value: String, field: String, kind: String) throws(PolicyError) {
            do { try VmName.validate(value, field: field, kind: kind) } catch {
                throw PolicyError(path: path, field: field, reason: error.reason)
            }
        }
        guard limits.vcpus >= 1 else { throw PolicyError(path: path, field: "limits.vcpus", reason: "must be at least 1") }
        for (group, quota) in groups {
            try name(group, field: "groups.\(group)", kind: "group")
            if let vms = quota.vms, vms < 0 { throw PolicyError(path: path, field: "groups.\(group).vms", reason: "must not be negative") }
            if let vcpus = quota.vcpus, vcpus < 0 { throw PolicyError(path: path, field: "groups.\(group).vcpus", reason: "must not be negative") }
        }
        for (index, bridge) in bridges.enumerated() { try name(bridge, field: "bridges[\(index)]", kind: "bridge") }
        for (index, pool) in pools.enumerated() { try name(pool, field: "pools[\(index)]", kind: "pool") }
        try name(defaultNetwork, field: "default_network", kind: "network")
        if let keyring = iso.keyring, !keyring.hasPrefix("/") {
            throw PolicyError(path: path, field: "iso.keyring", reason: "must be an absolute path")
        }
    }
}

/// The policy file is wrong; the broker does not start until it is fixed.
public typealias PolicyError = ConfigurationFileError

/// A configuration file the broker reads at start (the host policy, the backup repositories) is
/// wrong: the file, the key's path and why; the broker does not start until it is fixed.
public struct ConfigurationFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var field: String
    public var reason: String
    /// What to change, when there is more to say than "correct the file".
    public var fix: String?
    /// Where the file's format is described.
    public var guide: String = "docs/POLICY.md"

    public var description: String {
        let location = field.isEmpty ? path : "\(path): \(field)"
        let change = fix.map { "\($0) (in \(path))" } ?? "correct \(path) (see \(guide))"
        return "\(location) \(reason)\nfix: \(change), then restart the broker"
    }
}
