import CLibvirt

/// A libvirt domain reference; freed when the last Swift reference goes.
public final class Domain: @unchecked Sendable {
    let pointer: virDomainPtr

    init(owning pointer: virDomainPtr) {
        self.pointer = pointer
    }

    deinit {
        virDomainFree(pointer)
    }

    public enum State: String, Sendable, Hashable, CaseIterable {
        case running, blocked, paused, shuttingDown = "shutting-down", shutoff, crashed, suspended, unknown

        init(_ raw: Int32) {
            switch UInt32(bitPattern: raw) {
            case VIR_DOMAIN_RUNNING.rawValue: self = .running
            case VIR_DOMAIN_BLOCKED.rawValue: self = .blocked
            case VIR_DOMAIN_PAUSED.rawValue: self = .paused
            case VIR_DOMAIN_SHUTDOWN.rawValue: self = .shuttingDown
            case VIR_DOMAIN_SHUTOFF.rawValue: self = .shutoff
            case VIR_DOMAIN_CRASHED.rawValue: self = .crashed
            case VIR_DOMAIN_PMSUSPENDED.rawValue: self = .suspended
            default: self = .unknown
            }
        }

        /// Whether a guest process exists (the machine is not merely defined).
        public var isActive: Bool { self != .shutoff && self != .crashed && self != .unknown }
    }

    public struct Info: Sendable, Hashable {
        public var state: State
        public var maxMemoryKiB: UInt64
        public var memoryKiB: UInt64
        public var vcpus: Int
        public var cpuTimeNs: UInt64
    }

    public var name: String {
        virDomainGetName(pointer).map { String(cString: $0) } ?? ""
    }

    /// Whether the connection the domain was looked up on still answers (`virConnectIsAlive`): a
    /// failed call on a domain whose connection is gone failed for that, not for the domain.
    public var connectionIsAlive: Bool {
        virDomainGetConnect(pointer).map { virConnectIsAlive($0) == 1 } ?? false
    }

    public func uuid() throws(LibvirtError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        _ = try Call.status("reading the domain UUID") { virDomainGetUUIDString(pointer, &buffer) }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func state() throws(LibvirtError) -> State {
        var state: Int32 = 0
        var reason: Int32 = 0
        _ = try Call.status("reading the domain state") { virDomainGetState(pointer, &state, &reason, 0) }
        return State(state)
    }

    public func info() throws(LibvirtError) -> Info {
        var info = virDomainInfo()
        _ = try Call.status("reading domain information") { virDomainGetInfo(pointer, &info) }
        return Info(
            state: State(Int32(info.state)), maxMemoryKiB: UInt64(info.maxMem), memoryKiB: UInt64(info.memory),
            vcpus: Int(info.nrVirtCpu), cpuTimeNs: info.cpuTime
        )
    }

    public func autostart() throws(LibvirtError) -> Bool {
        var value: Int32 = 0
        _ = try Call.status("reading autostart") { virDomainGetAutostart(pointer, &value) }
        return value != 0
    }

    public func xmlDescription() throws(LibvirtError) -> String {
        try Call.ownedString("reading the domain XML") { virDomainGetXMLDesc(pointer, 0) }
    }

    public func start() throws(LibvirtError) {
        _ = try Call.status("starting \(name)") { virDomainCreate(pointer) }
    }

    /// Asks the guest to power off through ACPI.
    public func shutdown() throws(LibvirtError) {
        _ = try Call.status("shutting down \(name)") {
            virDomainShutdownFlags(pointer, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN.rawValue)
        }
    }

    public func reboot() throws(LibvirtError) {
        _ = try Call.status("rebooting \(name)") { virDomainReboot(pointer, 0) }
    }

    /// Stops the guest at once.
    public func destroy() throws(LibvirtError) {
        _ = try Call.status("stopping \(name)") { virDomainDestroy(pointer) }
    }

    /// Removes the definition, with any managed save image, snapshot metadata, NVRAM and the state
    /// of its emulated TPM.
    public func undefine() throws(LibvirtError) {
        let basic: UndefineFlags = [.managedSave, .snapshotsMetadata]
        // Each attempt leaves out what a driver may not know: the test driver has no NVRAM,
        // checkpoints or TPMs, and libvirt before 8.9 has no TPM flag (it removes the TPM's
        // state on undefine anyway).
        let attempts: [UndefineFlags] = [basic.union([.nvram, .checkpointsMetadata, .tpm]), basic.union([.nvram, .checkpointsMetadata])]
        for flags in attempts {
            do {
                return try undefine(flags: flags)
            } catch where error.isUnsupportedFlags {
                continue
            }
        }
        try undefine(flags: basic)
    }
}
