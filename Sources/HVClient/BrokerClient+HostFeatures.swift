import HVProtocol

extension BrokerClient {
    public func setHugepages(_ name: String, enabled: Bool) throws(HVError) -> VmHostFeaturesReply {
        try connection.call(Method.vmSetHugepages, VmHugepagesParameters(name: name, enabled: enabled), as: VmHostFeaturesReply.self)
    }

    public func pinCpus(_ name: String, pins: [CpuPin]) throws(HVError) -> VmHostFeaturesReply {
        try connection.call(Method.vmPinCpus, VmPinCpusParameters(name: name, pins: pins), as: VmHostFeaturesReply.self)
    }

    public func setPassthrough(_ name: String, pci: [String], usb: [String]) throws(HVError) -> VmHostFeaturesReply {
        try connection.call(Method.vmSetPassthrough, VmPassthroughParameters(name: name, pci: pci, usb: usb), as: VmHostFeaturesReply.self)
    }

    /// Starts the autostart machines in order; the broker waits `groupDelaySeconds` between order groups.
    /// The reply comes when every machine has been handled, so this call waits without a time limit
    /// (the boot unit has its own, TimeoutStartSec).
    public func autostart(groupDelaySeconds: Int) throws(HVError) -> [AutostartResult] {
        connection.setReceiveTimeout(seconds: 0)
        defer { connection.setReceiveTimeout(seconds: connection.timeoutSeconds) }
        return try connection.call(
            Method.hostAutostart, HostAutostartParameters(groupDelaySeconds: groupDelaySeconds), as: HostAutostartReply.self
        ).machines
    }
}
