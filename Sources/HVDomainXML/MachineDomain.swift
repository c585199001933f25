import HVProtocol
import XMLCoder

extension DomainXML {
    /// libvirt domain XML for a full machine, after `definition.validate()`.
    ///
    /// Throws `HVError.invalidSpec` naming the field for a definition that fails validation.
    public static func machine(_ definition: MachineDefinition) throws(HVError) -> String {
        try definition.validate()
        return try encodeChecked(MachineDomain(definition), root: "domain")
    }
}

/// The subset of libvirt's domain schema a full machine uses.
struct MachineDomain: AttributeKeys {
    static var attributeKeys: Set<String> { ["type"] }

    var type: String
    var name: String
    var uuid: String?
    var description: String?
    var metadata: MetadataElement
    var memory: Measured<UInt64>
    var currentMemory: Measured<UInt64>
    var memoryBacking: MachineHostXML.MemoryBacking?
    var vcpu: Int
    var cputune: MachineHostXML.CPUTune?
    var os: MachineOS
    var features: Features
    var cpu: Domain.CPU?
    var on_poweroff = "destroy"
    var on_reboot = "restart"
    var on_crash = "destroy"
    var devices: MachineDevices

    init(_ definition: MachineDefinition) {
        type = definition.domainType.rawValue
        name = definition.name
        uuid = definition.uuid
        description = definition.metadata.description
        metadata = MetadataElement(definition.metadata)
        memory = Measured(unit: "KiB", value: definition.memory.bytes / 1024)
        currentMemory = memory
        memoryBacking = MachineHostXML.memoryBacking(definition.metadata.hostFeatures)
        vcpu = definition.vcpus
        cputune = MachineHostXML.cputune(definition.metadata.hostFeatures)
        os = MachineOS(definition)
        let secure = definition.firmware == .uefiSecure
        features = Features(acpi: Flag(), apic: Flag(), smm: secure ? .init(state: "on") : nil)
        cpu = definition.domainType == .kvm ? .init(mode: "host-passthrough") : nil
        devices = MachineDevices(definition)
    }

    struct Features: Encodable {
        var acpi: Flag
        var apic: Flag
        var smm: State?
    }

    /// `<smm state="on"/>`: System Management Mode, which Secure Boot firmware needs.
    struct State: AttributeKeys {
        static var attributeKeys: Set<String> { ["state"] }
        var state: String
    }
}

/// `<os>`: machine type, firmware and boot order.
///
/// UEFI uses libvirt's firmware auto-selection (`firmware="efi"`): libvirt picks an OVMF build from
/// the host's firmware descriptors that has the requested features and creates the machine's own
/// NVRAM from its template. Plain UEFI asks for a build without Secure Boot, so descriptor order on
/// the host can't silently turn it on; Secure Boot asks for it with the distribution's keys enrolled.
struct MachineOS: Encodable, DynamicNodeEncoding {
    var firmwareKind: String?
    var type: Domain.OS.OSType
    var firmware: FirmwareFeatures?
    var loader: Loader?
    var boot: [Domain.OS.Boot]

    init(_ definition: MachineDefinition) {
        type = .init(arch: "x86_64", machine: definition.machine.rawValue, value: "hvm")
        switch definition.firmware {
        case .bios:
            firmwareKind = nil
        case .uefi:
            firmwareKind = "efi"
            firmware = FirmwareFeatures(feature: [.init(enabled: "no", name: "secure-boot")])
        case .uefiSecure:
            firmwareKind = "efi"
            firmware = FirmwareFeatures(feature: [
                .init(enabled: "yes", name: "secure-boot"), .init(enabled: "yes", name: "enrolled-keys"),
            ])
            loader = Loader(secure: "yes")
        }
        let devices = definition.cdromPath == nil ? ["hd"] : ["cdrom", "hd"]
        boot = devices.map(Domain.OS.Boot.init)
    }

    /// The `firmware` attribute and the `<firmware>` element share a name, so the keys are spelled out.
    enum Key: CodingKey {
        case firmwareKind, type, firmware, loader, boot

        var stringValue: String {
            switch self {
            case .firmwareKind, .firmware: "firmware"
            case .type: "type"
            case .loader: "loader"
            case .boot: "boot"
            }
        }

        var intValue: Int? { nil }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { nil }
    }

    static func nodeEncoding(for key: any CodingKey) -> XMLEncoder.NodeEncoding {
        (key as? Key) == .firmwareKind ? .attribute : .element
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encodeIfPresent(firmwareKind, forKey: .firmwareKind)
        try container.encode(type, forKey: .type)
        try container.encodeIfPresent(firmware, forKey: .firmware)
        try container.encodeIfPresent(loader, forKey: .loader)
        try container.encode(boot, forKey: .boot)
    }

    struct FirmwareFeatures: Encodable {
        var feature: [Feature]

        struct Feature: AttributeKeys {
            static var attributeKeys: Set<String> { ["enabled", "name"] }
            var enabled: String
            var name: String
        }
    }

    struct Loader: AttributeKeys {
        static var attributeKeys: Set<String> { ["secure"] }
        var secure: String
    }
}
