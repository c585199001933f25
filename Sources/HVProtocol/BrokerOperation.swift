/// Every operation the broker performs on a caller's behalf.
///
/// Each maps to exactly one polkit action through an exhaustive switch: an operation without an
/// action does not compile, and a method that maps to no operation is refused before polkit is asked.
public enum BrokerOperation: String, CaseIterable, Sendable {
    case hostInfo
    case hostStats
    case hostHealth
    case hostAutostart
    case vmList
    case vmInfo
    case vmConsole
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
    case vmHugepages
    case vmCpuPinning
    case vmPassthrough
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
    case eventsFollow
    case auditVerify

    /// The polkit action that authorizes this operation.
    public var action: String {
        switch self {
        case .hostInfo: "org.hypernixos.host.info"
        case .hostStats: "org.hypernixos.host.stats"
        case .hostHealth: "org.hypernixos.host.health"
        case .hostAutostart: "org.hypernixos.host.autostart"
        case .vmList: "org.hypernixos.vm.list"
        case .vmInfo: "org.hypernixos.vm.info"
        case .vmConsole: "org.hypernixos.vm.console"
        case .vmCreate: "org.hypernixos.vm.create"
        case .vmStart: "org.hypernixos.vm.start"
        case .vmShutdown: "org.hypernixos.vm.shutdown"
        case .vmReboot: "org.hypernixos.vm.reboot"
        case .vmKill: "org.hypernixos.vm.kill"
        case .vmDelete: "org.hypernixos.vm.delete"
        case .vmDeleteWithDisks: "org.hypernixos.vm.delete-disks"
        case .vmApply: "org.hypernixos.vm.apply"
        case .vmExport: "org.hypernixos.vm.export"
        case .vmClone: "org.hypernixos.vm.clone"
        case .vmMarkTemplate: "org.hypernixos.vm.template"
        case .vmLeases: "org.hypernixos.vm.leases"
        case .vmHugepages: "org.hypernixos.vm.hugepages"
        case .vmCpuPinning: "org.hypernixos.vm.cpu-pinning"
        case .vmPassthrough: "org.hypernixos.vm.passthrough"
        case .snapshotList: "org.hypernixos.snapshot.list"
        case .snapshotCreate: "org.hypernixos.snapshot.create"
        case .snapshotRevert: "org.hypernixos.snapshot.revert"
        case .snapshotDelete: "org.hypernixos.snapshot.delete"
        case .poolList: "org.hypernixos.pool.list"
        case .volumeCreate: "org.hypernixos.volume.create"
        case .volumeResize: "org.hypernixos.volume.resize"
        case .volumeDelete: "org.hypernixos.volume.delete"
        case .volumeMarkTemplate: "org.hypernixos.volume.template"
        case .networkList: "org.hypernixos.network.list"
        case .networkCreate: "org.hypernixos.network.create"
        case .networkStart: "org.hypernixos.network.start"
        case .networkStop: "org.hypernixos.network.stop"
        case .networkAutostart: "org.hypernixos.network.autostart"
        case .networkDelete: "org.hypernixos.network.delete"
        case .isoList: "org.hypernixos.iso.list"
        case .isoAdd: "org.hypernixos.iso.add"
        case .isoVerify: "org.hypernixos.iso.verify"
        case .isoRemove: "org.hypernixos.iso.remove"
        case .eventsFollow: "org.hypernixos.events.follow"
        case .auditVerify: "org.hypernixos.audit.verify"
        }
    }

    /// The least-privileged group that the shipped polkit rules grant this action to.
    public var grantingGroup: String {
        switch self {
        case .hostInfo, .hostStats, .hostHealth, .vmList, .vmInfo,
            .vmExport, .vmLeases, .snapshotList, .poolList, .networkList, .isoList, .eventsFollow:
            "hypervisor-viewers"
        case .vmConsole, .vmCreate, .vmStart, .vmShutdown, .vmReboot, .vmKill, .vmDelete, .vmDeleteWithDisks,
            .vmApply, .vmClone, .vmMarkTemplate, .snapshotCreate, .snapshotRevert, .snapshotDelete,
            .volumeCreate, .volumeResize, .volumeDelete, .volumeMarkTemplate, .isoAdd, .isoVerify, .isoRemove:
            "hypervisor-operators"
        case .auditVerify, .networkCreate, .networkStart, .networkStop, .networkAutostart, .networkDelete,
            .hostAutostart, .vmHugepages, .vmCpuPinning, .vmPassthrough:
            "hypervisor-admins"
        }
    }
}
