/// Clone a machine: a full copy of its disks, or (linked) copy-on-write overlays of a template's.
public struct VmCloneParameters: Codable, Sendable, Hashable {
    public var source: String
    public var name: String
    /// Overlays on the source's disks instead of copies; the source must be a template.
    public var linked: Bool?
    public init(source: String, name: String, linked: Bool? = nil) {
        self.source = source
        self.name = name
        self.linked = linked
    }
}

/// Create or update the machine a spec describes.
public struct VmApplyParameters: Codable, Sendable, Hashable {
    public var spec: MachineSpec
    /// Work out and report the changes, but change nothing.
    public var dryRun: Bool?
    public init(spec: MachineSpec, dryRun: Bool? = nil) {
        self.spec = spec
        self.dryRun = dryRun
    }
}

public struct VmApplyReply: Codable, Sendable, Hashable {
    public var created: Bool
    public var changes: [SpecChange]
    /// The machine is running and some changes wait for its next boot.
    public var restartNeeded: Bool
    /// The machine as defined now; absent for a dry run of a new machine.
    public var vm: VmDetails?
    public init(created: Bool, changes: [SpecChange], restartNeeded: Bool, vm: VmDetails?) {
        self.created = created
        self.changes = changes
        self.restartNeeded = restartNeeded
        self.vm = vm
    }
}

/// Take over a domain the broker did not make (administrators only).
public struct VmAdoptParameters: Codable, Sendable, Hashable {
    public var name: String
    /// The group the machine is charged to; the administrator's own when absent.
    public var group: String?
    public init(name: String, group: String? = nil) {
        self.name = name
        self.group = group
    }
}

public struct VmExportReply: Codable, Sendable, Hashable {
    public var spec: MachineSpec
    public init(spec: MachineSpec) { self.spec = spec }
}

extension CloudInitSpec {
    /// What `Vm.Export` gives in place of cloud-init data to callers who may not change the
    /// machine. It is not valid user data, so applying a redacted export is refused, never silently
    /// replacing the real data.
    public static let redacted = "<redacted>"
}
