import HVProtocol

/// A decoded and validated call on storage, networks, the ISO library, snapshots, templates and
/// clones. Every name is checked here, before polkit is asked; none is ever a host path.
public enum ResourceRequest: Sendable, Hashable {
    case snapshotList(vm: String)
    case snapshotCreate(vm: String, name: String, description: String?)
    case snapshotRevert(vm: String, name: String)
    case snapshotDelete(vm: String, name: String)
    case poolList
    case volumeList(pool: String?)
    case volumeCreate(pool: String?, name: String, size: ByteSize)
    case volumeResize(pool: String?, name: String, size: ByteSize)
    case volumeDelete(pool: String?, name: String)
    case volumeMarkTemplate(pool: String?, name: String)
    case networkList
    case networkCreate(NetworkCreateParameters)
    case networkStart(String)
    case networkStop(String)
    case networkAutostart(String, enabled: Bool)
    case networkDelete(String)
    case isoList
    case isoVerify(String)
    case isoRemove(String)
    case vmClone(source: String, name: String, linked: Bool)
    case vmMarkTemplate(String)
    case vmAutostart(String, enabled: Bool, order: Int?)
    case vmLeases(String)
    case vmApply(MachineSpec, dryRun: Bool)
    /// `redactSecrets` is not on the wire: it starts true and the admission path clears it for
    /// callers who may change the machine.
    case vmExport(String, redactSecrets: Bool)
    case vmAdopt(String, group: String?)
    case vmHugepages(String, enabled: Bool)
    case vmPinCpus(String, pins: [CpuPin])
    case vmPassthrough(String, pci: [String], usb: [String])
    case hostAutostart(groupDelaySeconds: Int)

    public var operation: BrokerOperation {
        switch self {
        case .snapshotList: .snapshotList
        case .snapshotCreate: .snapshotCreate
        case .snapshotRevert: .snapshotRevert
        case .snapshotDelete: .snapshotDelete
        case .poolList, .volumeList: .poolList
        case .volumeCreate: .volumeCreate
        case .volumeResize: .volumeResize
        case .volumeDelete: .volumeDelete
        case .volumeMarkTemplate: .volumeMarkTemplate
        case .networkList: .networkList
        case .networkCreate: .networkCreate
        case .networkStart: .networkStart
        case .networkStop: .networkStop
        case .networkAutostart: .networkAutostart
        case .networkDelete: .networkDelete
        case .isoList: .isoList
        case .isoVerify: .isoVerify
        case .isoRemove: .isoRemove
        case .vmClone: .vmClone
        case .vmMarkTemplate: .vmMarkTemplate
        case .vmAutostart: .vmAutostart
        case .vmLeases: .vmLeases
        case .vmApply: .vmApply
        case .vmExport: .vmExport
        case .vmHugepages: .vmHugepages
        case .vmPinCpus: .vmCpuPinning
        case .vmPassthrough: .vmPassthrough
        case .hostAutostart: .hostAutostart
        case .vmAdopt: .vmAdopt
        }
    }

    /// What the request acts on.
    public var object: RequestObject {
        switch self {
        case .snapshotList(let vm), .snapshotCreate(let vm, _, _), .snapshotRevert(let vm, _), .snapshotDelete(let vm, _): .machine(vm)
        case .volumeCreate(let pool, let name, _), .volumeResize(let pool, let name, _), .volumeDelete(let pool, let name),
            .volumeMarkTemplate(let pool, let name):
            .volume(pool: pool, name: name)
        case .vmClone(let source, let name, _): .clone(source: source, name: name)
        case .vmMarkTemplate(let name), .vmAutostart(let name, _, _), .vmLeases(let name), .vmExport(let name, _), .vmHugepages(let name, _),
            .vmPinCpus(let name, _), .vmPassthrough(let name, _, _), .vmAdopt(let name, _):
            .machine(name)
        case .vmApply(let spec, _): .machine(spec.name)
        case .poolList, .volumeList, .networkList, .networkCreate, .networkStart, .networkStop, .networkAutostart,
            .networkDelete, .isoList, .isoVerify, .isoRemove, .hostAutostart:
            .none
        }
    }

    /// What the audit log records as the request's object.
    public var target: String {
        switch self {
        case .snapshotList(let vm): vm
        case .snapshotCreate(let vm, let name, _), .snapshotRevert(let vm, let name), .snapshotDelete(let vm, let name):
            "\(vm)@\(name)"
        case .poolList, .networkList, .isoList: ""
        case .volumeList(let pool): pool ?? ""
        case .volumeCreate(let pool, let name, _), .volumeResize(let pool, let name, _), .volumeDelete(let pool, let name),
            .volumeMarkTemplate(let pool, let name):
            "\(pool ?? "")/\(name)"
        case .networkCreate(let parameters): parameters.name
        case .networkStart(let name), .networkStop(let name), .networkAutostart(let name, _), .networkDelete(let name): name
        case .isoVerify(let name), .isoRemove(let name): name
        case .vmClone(let source, let name, _): "\(source)->\(name)"
        case .vmMarkTemplate(let name), .vmAutostart(let name, _, _), .vmLeases(let name), .vmExport(let name, _), .vmHugepages(let name, _),
            .vmPinCpus(let name, _), .vmPassthrough(let name, _, _), .vmAdopt(let name, _):
            name
        case .hostAutostart: ""
        case .vmApply(let spec, _): spec.name
        }
    }

    /// Decodes a call of the resource interfaces; nil when the method is not one of them.
    public init?(_ call: VarlinkCall) throws(HVError) {
        guard let decode = Self.routes[call.method] else { return nil }
        self = try decode(call.parameters)
    }

    /// Turns a call's parameters into the request of one method.
    typealias Decode = @Sendable ([String: JSONValue]?) throws(HVError) -> ResourceRequest

    /// The resource interfaces' methods, with how each one's parameters are read; with
    /// `Request.routes`, the broker socket's routing table (`Request.methods`).
    static let routes: [String: Decode] = [
        Method.snapshotList: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(SnapshotListParameters.self, from: parameters)
            try VmName.validate(decoded.vm, field: "vm")
            return .snapshotList(vm: decoded.vm)
        },
        Method.snapshotCreate: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(SnapshotCreateParameters.self, from: parameters)
            try VmName.validate(decoded.vm, field: "vm")
            try SnapshotName.validate(decoded.name, field: "name")
            try SnapshotText.validate(description: decoded.description)
            return .snapshotCreate(vm: decoded.vm, name: decoded.name, description: decoded.description)
        },
        Method.snapshotRevert: { parameters throws(HVError) in
            let (vm, name) = try snapshot(parameters)
            return .snapshotRevert(vm: vm, name: name)
        },
        Method.snapshotDelete: { parameters throws(HVError) in
            let (vm, name) = try snapshot(parameters)
            return .snapshotDelete(vm: vm, name: name)
        },
        Method.storageListPools: noParameters(.poolList),
        Method.storageListVolumes: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(VolumeListParameters.self, from: parameters)
            try pool(decoded.pool)
            return .volumeList(pool: decoded.pool)
        },
        Method.storageCreateVolume: { parameters throws(HVError) in
            let decoded = try sizedVolume(parameters)
            return .volumeCreate(pool: decoded.pool, name: decoded.name, size: decoded.size)
        },
        Method.storageResizeVolume: { parameters throws(HVError) in
            let decoded = try sizedVolume(parameters)
            return .volumeResize(pool: decoded.pool, name: decoded.name, size: decoded.size)
        },
        Method.storageDeleteVolume: { parameters throws(HVError) in
            let decoded = try volume(parameters)
            return .volumeDelete(pool: decoded.pool, name: decoded.name)
        },
        Method.storageMarkTemplate: { parameters throws(HVError) in
            let decoded = try volume(parameters)
            return .volumeMarkTemplate(pool: decoded.pool, name: decoded.name)
        },
        Method.networkList: noParameters(.networkList),
        Method.networkCreate: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(NetworkCreateParameters.self, from: parameters)
            try NetworkName.validate(decoded.name)
            return .networkCreate(decoded)
        },
        Method.networkStart: { parameters throws(HVError) in .networkStart(try network(parameters)) },
        Method.networkStop: { parameters throws(HVError) in .networkStop(try network(parameters)) },
        Method.networkDelete: { parameters throws(HVError) in .networkDelete(try network(parameters)) },
        Method.networkSetAutostart: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(NetworkAutostartParameters.self, from: parameters)
            try NetworkName.validate(decoded.name)
            return .networkAutostart(decoded.name, enabled: decoded.enabled)
        },
        Method.isoList: noParameters(.isoList),
        Method.isoVerify: { parameters throws(HVError) in .isoVerify(try iso(parameters)) },
        Method.isoRemove: { parameters throws(HVError) in .isoRemove(try iso(parameters)) },
        Method.vmClone: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(VmCloneParameters.self, from: parameters)
            try VmName.validate(decoded.source, field: "source")
            try VmName.validate(decoded.name, field: "name")
            return .vmClone(source: decoded.source, name: decoded.name, linked: decoded.linked ?? false)
        },
        Method.vmMakeTemplate: { parameters throws(HVError) in .vmMarkTemplate(try Request.name(parameters)) },
        Method.vmSetAutostart: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(VmAutostartParameters.self, from: parameters)
            try VmName.validate(decoded.name)
            if let order = decoded.order, !AutostartSpec.orderRange.contains(order) {
                throw HVError.invalidParameter("order", "the order must be between 0 and 999, got \(order)", fix: "lower orders start first; 0 is the default")
            }
            return .vmAutostart(decoded.name, enabled: decoded.enabled, order: decoded.order)
        },
        Method.vmApply: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(VmApplyParameters.self, from: parameters)
            try decoded.spec.validate()
            return .vmApply(decoded.spec.normalized(), dryRun: decoded.dryRun ?? false)
        },
        Method.vmExport: { parameters throws(HVError) in .vmExport(try Request.name(parameters), redactSecrets: true) },
        Method.vmAdopt: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(VmAdoptParameters.self, from: parameters)
            try VmName.validate(decoded.name)
            if let group = decoded.group { try VmName.validate(group, field: "group", kind: "group") }
            return .vmAdopt(decoded.name, group: decoded.group)
        },
        Method.vmLeases: { parameters throws(HVError) in .vmLeases(try Request.name(parameters)) },
        Method.vmSetHugepages: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(VmHugepagesParameters.self, from: parameters)
            try VmName.validate(decoded.name)
            return .vmHugepages(decoded.name, enabled: decoded.enabled)
        },
        Method.vmPinCpus: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(VmPinCpusParameters.self, from: parameters)
            try VmName.validate(decoded.name)
            return .vmPinCpus(decoded.name, pins: try HostFeatureSyntax.pins(decoded.pins))
        },
        Method.vmSetPassthrough: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(VmPassthroughParameters.self, from: parameters)
            try VmName.validate(decoded.name)
            let devices = try HostFeatureSyntax.devices(pci: decoded.pci, usb: decoded.usb)
            return .vmPassthrough(decoded.name, pci: devices.pci, usb: devices.usb)
        },
        Method.hostAutostart: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(HostAutostartParameters.self, from: parameters)
            let delay = decoded.groupDelaySeconds ?? 0
            guard HostAutostartParameters.delayRange.contains(delay) else {
                throw .invalidParameter(
                    "groupDelaySeconds", "groupDelaySeconds must be between 0 and 600, got \(delay)", fix: "give a delay such as 10"
                )
            }
            return .hostAutostart(groupDelaySeconds: delay)
        },
    ]

    private static func snapshot(_ parameters: [String: JSONValue]?) throws(HVError) -> (vm: String, name: String) {
        let decoded = try StrictDecoding.decode(SnapshotNameParameters.self, from: parameters)
        try VmName.validate(decoded.vm, field: "vm")
        try SnapshotName.validate(decoded.name, field: "name")
        return (decoded.vm, decoded.name)
    }

    private static func sizedVolume(_ parameters: [String: JSONValue]?) throws(HVError) -> VolumeSizeParameters {
        let decoded = try StrictDecoding.decode(VolumeSizeParameters.self, from: parameters)
        try pool(decoded.pool)
        try VolumeName.validate(decoded.name)
        guard decoded.size >= .gibibytes(1), decoded.size <= .tebibytes(16) else {
            throw .invalidParameter(
                "size", "size must be between 1 GiB and 16 TiB, got \(decoded.size.readable)", fix: "give a size such as 20GiB"
            )
        }
        return decoded
    }

    private static func volume(_ parameters: [String: JSONValue]?) throws(HVError) -> VolumeNameParameters {
        let decoded = try StrictDecoding.decode(VolumeNameParameters.self, from: parameters)
        try pool(decoded.pool)
        try VolumeName.validate(decoded.name)
        return decoded
    }

    private static func network(_ parameters: [String: JSONValue]?) throws(HVError) -> String {
        let decoded = try StrictDecoding.decode(NetworkNameParameters.self, from: parameters)
        try NetworkName.validate(decoded.name)
        return decoded.name
    }

    private static func iso(_ parameters: [String: JSONValue]?) throws(HVError) -> String {
        let decoded = try StrictDecoding.decode(IsoNameParameters.self, from: parameters)
        try IsoName.validate(decoded.name, field: "name")
        return decoded.name
    }

    private static func pool(_ name: String?) throws(HVError) {
        if let name { try VmName.validate(name, field: "pool", kind: "pool") }
    }
}

/// Network names: like machine names, at most 15 characters so the bridge can be named after them.
public enum NetworkName {
    public static func validate(_ name: String, field: String = "name") throws(HVError) {
        try VmName.validate(name, field: field, kind: "network")
        guard name.utf8.count <= 15 else {
            throw .invalidParameter(field, "network name '\(name)' is longer than 15 characters", fix: "choose a shorter name")
        }
    }
}
