/// Parameters of a method that takes none.
public struct NoParameters: Codable, Sendable, Hashable {
    public init() {}
}

/// A reply without parameters.
public typealias EmptyReply = NoParameters

public struct KvmStatus: Codable, Sendable, Hashable {
    public var usable: Bool
    public var reason: String
    public init(usable: Bool, reason: String) {
        self.usable = usable
        self.reason = reason
    }
}

public struct HostInfo: Codable, Sendable, Hashable {
    public var hostname: String
    public var libvirtVersion: String
    public var hypervisorVersion: String
    public var hypervisorUri: String
    public var cpuModel: String
    public var cpus: Int
    public var memoryMiB: Int
    public var kvm: KvmStatus
    /// The domain type new machines get: `kvm` when KVM is usable, else `qemu` (software emulation).
    public var domainType: String

    public init(
        hostname: String, libvirtVersion: String, hypervisorVersion: String, hypervisorUri: String,
        cpuModel: String, cpus: Int, memoryMiB: Int, kvm: KvmStatus, domainType: String
    ) {
        self.hostname = hostname
        self.libvirtVersion = libvirtVersion
        self.hypervisorVersion = hypervisorVersion
        self.hypervisorUri = hypervisorUri
        self.cpuModel = cpuModel
        self.cpus = cpus
        self.memoryMiB = memoryMiB
        self.kvm = kvm
        self.domainType = domainType
    }
}

public struct HostInfoReply: Codable, Sendable, Hashable {
    public var host: HostInfo
    public init(host: HostInfo) { self.host = host }
}

public struct VmSummary: Codable, Sendable, Hashable {
    public var name: String
    public var state: String
    public var uuid: String
    /// The tags of the machine's spec; empty for machines not made from one.
    public var tags: [String]
    /// Whether the machine is a template (clone it; don't run it).
    public var template: Bool
    /// False for a domain the broker did not make (listed to administrators only; `hv vm adopt`).
    public var managed: Bool

    public init(name: String, state: String, uuid: String, tags: [String] = [], template: Bool = false, managed: Bool = true) {
        self.name = name
        self.state = state
        self.uuid = uuid
        self.tags = tags
        self.template = template
        self.managed = managed
    }

    enum CodingKeys: String, CodingKey { case name, state, uuid, tags, template, managed }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        state = try container.decode(String.self, forKey: .state)
        uuid = try container.decode(String.self, forKey: .uuid)
        tags = try container.decodeIfPresent([String].self, forKey: .tags) ?? []
        template = try container.decodeIfPresent(Bool.self, forKey: .template) ?? false
        managed = try container.decodeIfPresent(Bool.self, forKey: .managed) ?? true
    }
}

public struct VmListReply: Codable, Sendable, Hashable {
    public var vms: [VmSummary]
    public init(vms: [VmSummary]) { self.vms = vms }
}

public struct VmDisk: Codable, Sendable, Hashable {
    /// The guest device, e.g. `vda` or `sda`.
    public var target: String
    /// `disk` or `cdrom`.
    public var device: String
    /// The image's file name in the broker's image or ISO directory (never a full host path).
    public var source: String?
    public init(target: String, device: String, source: String?) {
        self.target = target
        self.device = device
        self.source = source
    }
}

public struct VmDetails: Codable, Sendable, Hashable {
    public var name: String
    public var uuid: String
    public var state: String
    public var vcpus: Int
    public var memoryMiB: Int
    public var cpuTimeNs: Int64
    public var domainType: String
    public var autostart: Bool
    public var disks: [VmDisk]
    /// Where the machine comes in the boot-time start, when its spec enables autostart.
    public var autostartOrder: Int?
    /// What an administrator gave the machine from the host; nil when nothing.
    public var hostFeatures: HostFeatures?
    /// Whether the machine has an emulated TPM; nil from a broker that does not say.
    public var tpm: Bool?

    public init(
        name: String, uuid: String, state: String, vcpus: Int, memoryMiB: Int, cpuTimeNs: Int64,
        domainType: String, autostart: Bool, disks: [VmDisk], autostartOrder: Int? = nil, hostFeatures: HostFeatures? = nil,
        tpm: Bool? = nil
    ) {
        self.name = name
        self.uuid = uuid
        self.state = state
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.cpuTimeNs = cpuTimeNs
        self.domainType = domainType
        self.autostart = autostart
        self.disks = disks
        self.autostartOrder = autostartOrder
        self.hostFeatures = hostFeatures
        self.tpm = tpm
    }
}

public struct VmNameParameters: Codable, Sendable, Hashable {
    public var name: String
    public init(name: String) { self.name = name }
}

public struct VmCreateParameters: Codable, Sendable, Hashable {
    public var spec: VmSpec
    public init(spec: VmSpec) { self.spec = spec }
}

public struct VmDeleteParameters: Codable, Sendable, Hashable {
    public var name: String
    public var removeDisks: Bool?
    public init(name: String, removeDisks: Bool? = nil) {
        self.name = name
        self.removeDisks = removeDisks
    }
}

public struct VmDeleteReply: Codable, Sendable, Hashable {
    /// File names of the disk images that were removed.
    public var removedDisks: [String]
    public init(removedDisks: [String]) { self.removedDisks = removedDisks }
}

public struct VmInfoReply: Codable, Sendable, Hashable {
    public var vm: VmDetails
    public init(vm: VmDetails) { self.vm = vm }
}

public struct VmConsoleParameters: Codable, Sendable, Hashable {
    public var name: String
    /// How much of the end of the log to return; the broker caps it.
    public var maxBytes: Int?
    public init(name: String, maxBytes: Int? = nil) {
        self.name = name
        self.maxBytes = maxBytes
    }
}

public struct VmConsoleReply: Codable, Sendable, Hashable {
    public var text: String
    public var truncated: Bool
    public init(text: String, truncated: Bool) {
        self.text = text
        self.truncated = truncated
    }
}

/// `Audit.Verify`'s reply: the result, or (before the last reply of a `more` call) progress.
public struct AuditVerifyReply: Codable, Sendable, Hashable {
    public struct Progress: Codable, Sendable, Hashable {
        /// Bytes of segment files read so far, of `totalBytes`.
        public var bytes: Int
        public var totalBytes: Int
        /// The segment being read.
        public var segment: String
        public init(bytes: Int, totalBytes: Int, segment: String) {
            self.bytes = bytes
            self.totalBytes = totalBytes
            self.segment = segment
        }
    }

    public var intact: Bool
    public var records: Int
    /// The 1-based line of `segment` where the chain first breaks.
    public var brokenAtLine: Int?
    public var reason: String?
    /// The file where the chain breaks: a segment, or the manifest.
    public var segment: String?
    /// Segment files verified.
    public var segments: Int?
    /// Sealed segments removed by retention; the chain is verified from the first one kept.
    public var retiredSegments: Int?
    /// Set on the replies before the last: how far the verification has read.
    public var progress: Progress?

    public init(
        intact: Bool, records: Int, brokenAtLine: Int?, reason: String?, segment: String? = nil, segments: Int? = nil,
        retiredSegments: Int? = nil
    ) {
        self.intact = intact
        self.records = records
        self.brokenAtLine = brokenAtLine
        self.reason = reason
        self.segment = segment
        self.segments = segments
        self.retiredSegments = retiredSegments
    }

    public init(progress: Progress) {
        self.init(intact: true, records: 0, brokenAtLine: nil, reason: nil)
        self.progress = progress
    }
}

/// `org.varlink.service.GetInfo`'s reply.
public struct ServiceInfo: Codable, Sendable, Hashable {
    public var vendor: String
    public var product: String
    public var version: String
    public var url: String
    public var interfaces: [String]

    public init(vendor: String, product: String, version: String, url: String, interfaces: [String]) {
        self.vendor = vendor
        self.product = product
        self.version = version
        self.url = url
        self.interfaces = interfaces
    }
}

public struct InterfaceDescriptionParameters: Codable, Sendable, Hashable {
    public var interface: String
    public init(interface: String) { self.interface = interface }
}

public struct InterfaceDescriptionReply: Codable, Sendable, Hashable {
    public var description: String
    public init(description: String) { self.description = description }
}
