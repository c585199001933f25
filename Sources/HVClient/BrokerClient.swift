import HVProtocol

/// Typed calls to the broker's methods.
public struct BrokerClient {
    let connection: VarlinkClient

    public init(socketPath: String, timeoutSeconds: Int = VarlinkClient.defaultTimeoutSeconds) throws(HVError) {
        connection = try VarlinkClient(socketPath: socketPath, timeoutSeconds: timeoutSeconds)
    }

    public func hostInfo() throws(HVError) -> HostInfo {
        try connection.call(Method.hostGetInfo, NoParameters(), as: HostInfoReply.self).host
    }

    public func list() throws(HVError) -> [VmSummary] {
        try connection.call(Method.vmList, NoParameters(), as: VmListReply.self).vms
    }

    public func info(_ name: String) throws(HVError) -> VmDetails {
        try connection.call(Method.vmInfo, VmNameParameters(name: name), as: VmInfoReply.self).vm
    }

    public func create(_ spec: VmSpec) throws(HVError) -> VmDetails {
        try connection.call(Method.vmCreate, VmCreateParameters(spec: spec), as: VmInfoReply.self).vm
    }

    /// Start, Shutdown, Reboot or Kill.
    public func lifecycle(_ method: String, _ name: String) throws(HVError) {
        _ = try connection.call(method, VmNameParameters(name: name), as: EmptyReply.self)
    }

    public func delete(_ name: String, removeDisks: Bool) throws(HVError) -> [String] {
        try connection.call(
            Method.vmDelete, VmDeleteParameters(name: name, removeDisks: removeDisks), as: VmDeleteReply.self
        ).removedDisks
    }

    public func console(_ name: String, maxBytes: Int?) throws(HVError) -> VmConsoleReply {
        try connection.call(Method.vmReadConsole, VmConsoleParameters(name: name, maxBytes: maxBytes))
    }

    public func verifyAudit() throws(HVError) -> AuditVerifyReply {
        try connection.call(Method.auditVerify, NoParameters())
    }
}
