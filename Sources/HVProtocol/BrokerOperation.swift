/// Every operation the broker performs on a caller's behalf.
///
/// Each maps to exactly one polkit action through an exhaustive switch: an operation without an
/// action does not compile, and a method that maps to no operation is refused before polkit is asked.
public enum BrokerOperation: String, CaseIterable, Sendable {
    case hostInfo
    case hostStats
    case hostHealth
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
    case auditVerify

    /// The polkit action that authorizes this operation.
    public var action: String {
        switch self {
        case .hostInfo: "org.hypernixos.host.info"
        case .hostStats: "org.hypernixos.host.stats"
        case .hostHealth: "org.hypernixos.host.health"
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
        case .auditVerify: "org.hypernixos.audit.verify"
        }
    }

    /// The least-privileged group that the shipped polkit rules grant this action to.
    public var grantingGroup: String {
        switch self {
        case .hostInfo, .hostStats, .hostHealth, .vmList, .vmInfo:
            "hypervisor-viewers"
        case .vmConsole, .vmCreate, .vmStart, .vmShutdown, .vmReboot, .vmKill, .vmDelete, .vmDeleteWithDisks:
            "hypervisor-operators"
        case .auditVerify:
            "hypervisor-admins"
        }
    }
}
