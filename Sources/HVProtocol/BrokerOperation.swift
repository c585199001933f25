/// Every operation the broker performs on a caller's behalf, and — in `rule` — everything the
/// admission path needs to know about it: the polkit action, who the shipped rules grant it to,
/// the object it acts on, the host-policy checks it needs, and whether it changes state (and so is
/// audited before it acts and refused when that record can't be written).
///
/// `rule` is one exhaustive switch: an operation without a rule does not compile, and a method that
/// maps to no operation is refused before polkit is asked. The polkit `.policy` file and the shipped
/// rules are compared with this table by `PolicyTests`; the authorization matrix test is generated
/// from it.
public enum BrokerOperation: String, CaseIterable, Sendable {
    case hostInfo
    case hostStats
    case hostHealth
    case hostAutostart
    case vmList
    case vmInfo
    case vmConsole
    case vmConsoleAttach
    case vmGraphics
    case vmScreenshot
    case vmCreate
    case vmStart
    case vmShutdown
    case vmReboot
    case vmKill
    case vmDelete
    case vmDeleteWithDisks
    case vmApply
    case vmExport
    case vmClone
    case vmMarkTemplate
    case vmLeases
    case vmAutostart
    case vmHugepages
    case vmCpuPinning
    case vmPassthrough
    case vmAdopt
    case snapshotList
    case snapshotCreate
    case snapshotRevert
    case snapshotDelete
    case poolList
    case volumeCreate
    case volumeResize
    case volumeDelete
    case volumeMarkTemplate
    case networkList
    case networkCreate
    case networkStart
    case networkStop
    case networkAutostart
    case networkDelete
    case isoList
    case isoAdd
    case isoVerify
    case isoRemove
    case imageImport
    case backupCreate
    case backupList
    case backupShow
    case backupVerify
    case backupRestore
    case backupBootTest
    case backupStatus
    case backupDelete
    case backupPrune
    case backupRunJob
    case backupJobs
    case eventsFollow
    case auditVerify

    /// The table. Read a row as: "ACTION, granted to ROLE, acts on OBJECT, checked against POLICY,
    /// changes state or not".
    public var rule: OperationRule {
        switch self {
        case .hostInfo: .read("host.info", .viewers, .host)
        case .hostStats: .read("host.stats", .viewers, .allMachines)
        case .hostHealth: .read("host.health", .viewers, .host)
        case .hostAutostart: .change("host.autostart", .admins, .allMachines)
        case .vmList: .read("vm.list", .viewers, .allMachines)
        case .vmInfo: .read("vm.info", .viewers, .machine(owned: false))
        case .vmConsole: .read("vm.console", .operators, .machine(owned: true))
        case .vmConsoleAttach: .change("vm.console-attach", .operators, .machine(owned: true))
        case .vmGraphics: .change("vm.graphics", .operators, .machine(owned: true))
        case .vmScreenshot: .read("vm.screenshot", .operators, .machine(owned: true))
        case .vmCreate: .change("vm.create", .operators, .newMachine, [.machineLimits, .groupQuota, .isoLibrary])
        case .vmStart: .change("vm.start", .operators, .machine(owned: true))
        case .vmShutdown: .change("vm.shutdown", .operators, .machine(owned: true))
        case .vmReboot: .change("vm.reboot", .operators, .machine(owned: true))
        case .vmKill: .change("vm.kill", .operators, .machine(owned: true))
        case .vmDelete: .change("vm.delete", .operators, .machine(owned: true))
        case .vmDeleteWithDisks: .change("vm.delete-disks", .operators, .machine(owned: true), [.ownDisksOnly])
        case .vmApply:
            .change(
                "vm.apply", .operators, .appliedMachine,
                [.machineLimits, .groupQuota, .pools, .networks, .ownDisksOnly, .isoLibrary, .hostFeaturesKept]
            )
        case .vmExport: .read("vm.export", .viewers, .machine(owned: false))
        case .vmClone: .change("vm.clone", .operators, .cloneSource, [.machineLimits, .groupQuota, .pools, .networks])
        case .vmMarkTemplate: .change("vm.template", .operators, .machine(owned: true))
        case .vmLeases: .read("vm.leases", .viewers, .machine(owned: false))
        case .vmAutostart: .change("vm.autostart", .operators, .machine(owned: true))
        case .vmHugepages: .change("vm.hugepages", .admins, .machine(owned: true), [.hostHardware])
        case .vmCpuPinning: .change("vm.cpu-pinning", .admins, .machine(owned: true), [.hostHardware])
        case .vmPassthrough: .change("vm.passthrough", .admins, .machine(owned: true), [.hostHardware])
        case .vmAdopt: .change("vm.adopt", .admins, .foreignMachine, [.machineLimits, .pools, .networks])
        case .snapshotList: .read("snapshot.list", .viewers, .machine(owned: false))
        case .snapshotCreate: .change("snapshot.create", .operators, .machine(owned: true))
        case .snapshotRevert:
            .change("snapshot.revert", .operators, .machine(owned: true), [.machineLimits, .groupQuota, .hostFeaturesKept])
        case .snapshotDelete: .change("snapshot.delete", .operators, .machine(owned: true))
        case .poolList: .read("pool.list", .viewers, .host)
        case .volumeCreate: .change("volume.create", .operators, .volume, [.volumeLimits, .pools])
        case .volumeResize: .change("volume.resize", .operators, .volume, [.volumeLimits, .groupQuota, .pools])
        case .volumeDelete: .change("volume.delete", .operators, .volume, [.pools])
        case .volumeMarkTemplate: .change("volume.template", .operators, .volume, [.pools])
        case .networkList: .read("network.list", .viewers, .host)
        case .networkCreate: .change("network.create", .admins, .host)
        case .networkStart: .change("network.start", .admins, .host)
        case .networkStop: .change("network.stop", .admins, .host)
        case .networkAutostart: .change("network.autostart", .admins, .host)
        case .networkDelete: .change("network.delete", .admins, .host)
        case .isoList: .read("iso.list", .viewers, .host)
        case .isoAdd: .change("iso.add", .operators, .host, [.isoLibrary, .imageTotals])
        case .isoVerify: .change("iso.verify", .operators, .host)
        case .isoRemove: .change("iso.remove", .operators, .host)
        case .imageImport: .change("image.import", .operators, .groupImage, [.imageTotals])
        case .backupCreate: .change("backup.create", .operators, .machine(owned: true))
        case .backupList: .read("backup.list", .viewers, .host)
        case .backupShow: .read("backup.show", .viewers, .backup(owned: false))
        case .backupVerify: .change("backup.verify", .operators, .backup(owned: true))
        case .backupRestore: .change("backup.restore", .operators, .backup(owned: true), [.machineLimits, .groupQuota, .pools, .networks])
        case .backupBootTest: .change("backup.boot-test", .operators, .backup(owned: true), [.machineLimits, .groupQuota, .pools])
        case .backupStatus: .read("backup.status", .viewers, .host)
        case .backupDelete: .change("backup.delete", .admins, .backup(owned: false))
        case .backupPrune: .change("backup.prune", .admins, .host)
        case .backupRunJob: .change("backup.run-job", .admins, .host)
        case .backupJobs: .read("backup.jobs", .viewers, .host)
        case .eventsFollow: .read("events.follow", .viewers, .allMachines)
        case .auditVerify: .read("audit.verify", .admins, .host)
        }
    }

    /// The polkit action that authorizes this operation.
    public var action: String { rule.action }

    /// The least-privileged group that the shipped polkit rules grant this action to.
    public var grantingGroup: String { rule.grantedTo.group }

    /// Whether the operator must be in the machine's owner group (admins always may).
    public var requiresOwnership: Bool {
        switch rule.object {
        case .machine(let owned), .backup(let owned): owned
        case .newMachine, .appliedMachine, .cloneSource, .volume, .groupImage: true
        case .host, .allMachines, .foreignMachine: false
        }
    }
}

/// One row of the operation table.
public struct OperationRule: Sendable, Hashable {
    /// The polkit action id.
    public var action: String
    /// The least-privileged role the shipped rules grant it to.
    public var grantedTo: Role
    /// What the request names and the admission path resolves before asking polkit.
    public var object: OperationObject
    /// The host-policy checks applied to the state the change leaves behind.
    public var policy: [PolicyCheck]
    /// Changes state: audited before acting (refused when that record can't be written) and
    /// serialized per machine from admission to the end of the act.
    public var changesState: Bool

    static func read(_ action: String, _ role: Role, _ object: OperationObject) -> OperationRule {
        OperationRule(action: "org.hypernixos." + action, grantedTo: role, object: object, policy: [], changesState: false)
    }

    static func change(_ action: String, _ role: Role, _ object: OperationObject, _ policy: [PolicyCheck] = []) -> OperationRule {
        OperationRule(action: "org.hypernixos." + action, grantedTo: role, object: object, policy: policy, changesState: true)
    }
}

/// The roles of the shipped polkit rules, from least to most privileged.
public enum Role: Int, Sendable, Hashable, Comparable, CaseIterable {
    case viewers
    case operators
    case admins

    public var group: String {
        switch self {
        case .viewers: "hypervisor-viewers"
        case .operators: "hypervisor-operators"
        case .admins: "hypervisor-admins"
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What an operation acts on. Machines are passed to polkit as details (`machine`, `owner_group`,
/// `owner_user`, `tags`, `managed`, `template`), as libvirt's polkit driver passes `domain_name`.
public enum OperationObject: Sendable, Hashable {
    /// The host as a whole, or a shared host resource (networks, the ISO library).
    case host
    /// Every machine: the reply lists only what the caller may see (foreign domains for admins only).
    case allMachines
    /// One existing machine, made by the broker; `owned`: operators must be in its owner group.
    /// A domain the broker did not make is invisible to everyone but admins.
    case machine(owned: Bool)
    /// A machine this request creates: the name must be free; it will be charged to the caller's group.
    case newMachine
    /// A machine a spec creates or changes: new, or existing and owned.
    case appliedMachine
    /// A clone's source: owned, or a template (anyone who may clone may clone a template).
    case cloneSource
    /// A domain the broker did not make, taken over by an administrator.
    case foreignMachine
    /// A storage volume: a managed machine's disk belongs to that machine.
    case volume
    /// An image this request brings in, charged to the group it names (or the caller's): the group
    /// is passed to polkit as `owner_group`, and operators must be in it.
    case groupImage
    /// A backup in a repository, passed to polkit with the machine it is of (`backup`,
    /// `repository`, `machine`, `owner_group`); the group comes from the record the backup keeps,
    /// never from the caller. `owned`: operators must be in that group. A restore also names the
    /// new machine (`new_machine`), charged to that group.
    case backup(owned: Bool)
}

/// A host-policy check applied to the state a change leaves behind (docs/POLICY.md).
public enum PolicyCheck: String, Sendable, Hashable, CaseIterable {
    /// `limits.vcpus`, `limits.memory`, `limits.disk` for one machine.
    case machineLimits
    /// `groups.NAME.*`: the owner group's total after the change.
    case groupQuota
    /// `limits.disk` for a single volume, and the owning machine's total.
    case volumeLimits
    /// `pools`: only the allowed pools.
    case pools
    /// `bridges`: no host bridge outside the allow-list, also not through a libvirt network.
    case networks
    /// A machine attaches only volumes it created.
    case ownDisksOnly
    /// ISO names resolve inside the library; `iso.max_size`.
    case isoLibrary
    /// `iso.max_total` (ISO images) and `groups.NAME.images` (ISO images and imported templates):
    /// what stored images occupy on disk, images being
    /// added included, before the copy and again before the image is kept.
    case imageTotals
    /// What an administrator granted (hugepages, pins, passthrough) is never brought back or dropped by an operator.
    case hostFeaturesKept
    /// Host features checked against `/sys` and `/proc`.
    case hostHardware
}
