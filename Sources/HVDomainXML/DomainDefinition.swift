/// Everything the broker decided about a new machine, with host paths it derived itself.
///
/// Built only from a validated `VmSpec` plus the broker's own configuration; the XML encoder
/// escapes every value, so nothing here can add elements or attributes.
public struct DomainDefinition: Sendable, Hashable {
    public var name: String
    public var domainType: String
    public var vcpus: Int
    public var memoryMiB: Int
    public var diskPath: String
    public var isoPath: String?
    public var consoleLogPath: String

    public init(
        name: String, domainType: String, vcpus: Int, memoryMiB: Int, diskPath: String, isoPath: String?,
        consoleLogPath: String
    ) {
        self.name = name
        self.domainType = domainType
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.diskPath = diskPath
        self.isoPath = isoPath
        self.consoleLogPath = consoleLogPath
    }
}
