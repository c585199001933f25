import HVProtocol

/// A decoded and validated call: what the caller wants, in types the broker trusts.
public enum Request: Sendable, Hashable {
    case getInfo
    case getInterfaceDescription(String)
    case hostInfo
    case hostStats
    case hostHealth
    case vmList
    case vmInfo(String)
    case vmConsole(String, maxBytes: Int)
    case vmCreate(VmSpec)
    case vmStart(String)
    case vmShutdown(String)
    case vmReboot(String)
    case vmKill(String)
    case vmDelete(String, removeDisks: Bool)
    case auditVerify
    /// Storage, networks, the ISO library, snapshots, templates and clones.
    case resource(ResourceRequest)

    /// The largest console excerpt a caller may ask for.
    public static let maximumConsoleBytes = 256 * 1024

    /// The operation polkit is asked about; nil for the public introspection methods of
    /// `org.varlink.service`, which describe the interface and touch nothing.
    public var operation: BrokerOperation? {
        switch self {
        case .getInfo, .getInterfaceDescription: nil
        case .hostInfo: .hostInfo
        case .hostStats: .hostStats
        case .hostHealth: .hostHealth
        case .vmList: .vmList
        case .vmInfo: .vmInfo
        case .vmConsole: .vmConsole
        case .vmCreate: .vmCreate
        case .vmStart: .vmStart
        case .vmShutdown: .vmShutdown
        case .vmReboot: .vmReboot
        case .vmKill: .vmKill
        case .vmDelete(_, let removeDisks): removeDisks ? .vmDeleteWithDisks : .vmDelete
        case .auditVerify: .auditVerify
        case .resource(let resource): resource.operation
        }
    }

    /// The object the request names, for the audit log.
    public var target: String {
        switch self {
        case .getInterfaceDescription(let interface): interface
        case .vmInfo(let name), .vmConsole(let name, _), .vmStart(let name), .vmShutdown(let name),
            .vmReboot(let name), .vmKill(let name), .vmDelete(let name, _):
            name
        case .vmCreate(let spec): spec.name
        case .getInfo, .hostInfo, .hostStats, .hostHealth, .vmList, .auditVerify: ""
        case .resource(let resource): resource.target
        }
    }

    /// What the request acts on, for the admission path to resolve, authorize and lock.
    public var object: RequestObject {
        switch self {
        case .vmInfo(let name), .vmConsole(let name, _), .vmStart(let name), .vmShutdown(let name),
            .vmReboot(let name), .vmKill(let name), .vmDelete(let name, _):
            .machine(name)
        case .vmCreate(let spec): .machine(spec.name)
        case .getInfo, .getInterfaceDescription, .hostInfo, .hostStats, .hostHealth, .vmList, .auditVerify: .none
        case .resource(let resource): resource.object
        }
    }

    /// Decodes and validates a call. Unknown methods, unknown or mistyped fields and invalid values
    /// are thrown as errors that name what is wrong.
    public init(_ call: VarlinkCall) throws(HVError) {
        let parameters = call.parameters
        switch call.method {
        case Method.getInfo:
            _ = try StrictDecoding.decode(NoParameters.self, from: parameters)
            self = .getInfo
        case Method.getInterfaceDescription:
            let decoded = try StrictDecoding.decode(InterfaceDescriptionParameters.self, from: parameters)
            self = .getInterfaceDescription(decoded.interface)
        case Method.hostGetInfo:
            _ = try StrictDecoding.decode(NoParameters.self, from: parameters)
            self = .hostInfo
        case Method.hostStats:
            _ = try StrictDecoding.decode(NoParameters.self, from: parameters)
            self = .hostStats
        case Method.hostHealth:
            _ = try StrictDecoding.decode(NoParameters.self, from: parameters)
            self = .hostHealth
        case Method.vmList:
            _ = try StrictDecoding.decode(NoParameters.self, from: parameters)
            self = .vmList
        case Method.vmInfo:
            self = .vmInfo(try Self.name(parameters))
        case Method.vmStart:
            self = .vmStart(try Self.name(parameters))
        case Method.vmShutdown:
            self = .vmShutdown(try Self.name(parameters))
        case Method.vmReboot:
            self = .vmReboot(try Self.name(parameters))
        case Method.vmKill:
            self = .vmKill(try Self.name(parameters))
        case Method.vmCreate:
            let decoded = try StrictDecoding.decode(VmCreateParameters.self, from: parameters)
            try decoded.spec.validate()
            self = .vmCreate(decoded.spec)
        case Method.vmDelete:
            let decoded = try StrictDecoding.decode(VmDeleteParameters.self, from: parameters)
            try VmName.validate(decoded.name)
            self = .vmDelete(decoded.name, removeDisks: decoded.removeDisks ?? false)
        case Method.vmReadConsole:
            let decoded = try StrictDecoding.decode(VmConsoleParameters.self, from: parameters)
            try VmName.validate(decoded.name)
            let maxBytes = decoded.maxBytes ?? 64 * 1024
            guard (1...Self.maximumConsoleBytes).contains(maxBytes) else {
                throw .invalidParameter(
                    "maxBytes", "maxBytes must be between 1 and \(Self.maximumConsoleBytes), got \(maxBytes)"
                )
            }
            self = .vmConsole(decoded.name, maxBytes: maxBytes)
        case Method.auditVerify:
            _ = try StrictDecoding.decode(NoParameters.self, from: parameters)
            self = .auditVerify
        default:
            if let resource = try ResourceRequest(call) {
                self = .resource(resource)
                return
            }
            if Interfaces.description(of: call.interface) == nil { throw .unknownInterface(call.interface) }
            throw HVError(
                .methodNotFound, "unknown method '\(call.method)'",
                fix: "call org.varlink.service.GetInterfaceDescription for \(call.interface)",
                details: ["method": call.method]
            )
        }
    }

    private static func name(_ parameters: [String: JSONValue]?) throws(HVError) -> String {
        let decoded = try StrictDecoding.decode(VmNameParameters.self, from: parameters)
        try VmName.validate(decoded.name)
        return decoded.name
    }
}
