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
    case vmScreenshot(String)
    case vmCreate(VmSpec)
    case vmStart(String)
    case vmShutdown(String)
    case vmReboot(String)
    case vmKill(String)
    case vmDelete(String, removeDisks: Bool)
    case auditVerify
    /// Storage, networks, the ISO library, snapshots, templates and clones.
    case resource(ResourceRequest)
    /// Backups into the administrator's repositories, and restores from them.
    case backup(BackupRequest)

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
        case .vmScreenshot: .vmScreenshot
        case .vmCreate: .vmCreate
        case .vmStart: .vmStart
        case .vmShutdown: .vmShutdown
        case .vmReboot: .vmReboot
        case .vmKill: .vmKill
        case .vmDelete(_, let removeDisks): removeDisks ? .vmDeleteWithDisks : .vmDelete
        case .auditVerify: .auditVerify
        case .resource(let resource): resource.operation
        case .backup(let backup): backup.operation
        }
    }

    /// The object the request names, for the audit log.
    public var target: String {
        switch self {
        case .getInterfaceDescription(let interface): interface
        case .vmInfo(let name), .vmConsole(let name, _), .vmScreenshot(let name), .vmStart(let name), .vmShutdown(let name),
            .vmReboot(let name), .vmKill(let name), .vmDelete(let name, _):
            name
        case .vmCreate(let spec): spec.name
        case .getInfo, .hostInfo, .hostStats, .hostHealth, .vmList, .auditVerify: ""
        case .resource(let resource): resource.target
        case .backup(let backup): backup.target
        }
    }

    /// What the request acts on, for the admission path to resolve, authorize and lock.
    public var object: RequestObject {
        switch self {
        case .vmInfo(let name), .vmConsole(let name, _), .vmScreenshot(let name), .vmStart(let name), .vmShutdown(let name),
            .vmReboot(let name), .vmKill(let name), .vmDelete(let name, _):
            .machine(name)
        case .vmCreate(let spec): .machine(spec.name)
        case .getInfo, .getInterfaceDescription, .hostInfo, .hostStats, .hostHealth, .vmList, .auditVerify: .none
        case .resource(let resource): resource.object
        case .backup(let backup): backup.object
        }
    }

    /// Decodes and validates a call. Unknown methods, unknown or mistyped fields and invalid values
    /// are thrown as errors that name what is wrong.
    public init(_ call: VarlinkCall) throws(HVError) {
        if let decode = Self.routes[call.method] {
            self = try decode(call.parameters)
        } else if let resource = try ResourceRequest(call) {
            self = .resource(resource)
        } else if let decode = BackupRequest.routes[call.method] {
            self = .backup(try decode(call.parameters))
        } else {
            try Self.unknown(call)
        }
        if let name = newMachineName, name.hasPrefix(BootTestScratch.prefix) {
            throw HVError.invalidParameter(
                "name", "names beginning with '\(BootTestScratch.prefix)' are kept for the scratch machines of boot tests",
                fix: "choose another name")
        }
    }

    /// The name a request gives a machine it makes or defines: a create, an apply, a clone, a restore.
    var newMachineName: String? {
        switch object {
        case .machine(let name) where [.newMachine, .appliedMachine].contains(operation?.rule.object): name
        case .clone(_, let name): name
        case .backup(_, _, let newMachine?, false): newMachine
        default: nil
        }
    }

    /// The refusal of a method no table routes.
    private static func unknown(_ call: VarlinkCall) throws(HVError) -> Never {
        if Interfaces.description(of: call.interface) == nil { throw .unknownInterface(call.interface) }
        throw HVError(
            .methodNotFound, "unknown method '\(call.method)'",
            fix: "call org.varlink.service.GetInterfaceDescription for \(call.interface)",
            details: ["method": call.method]
        )
    }

    /// Every method the broker socket answers: the one table the dispatcher routes by, here, in
    /// `ResourceRequest.routes` and in `BackupRequest.routes`. A method in none is answered `MethodNotFound`.
    public static var methods: Set<String> {
        Set(routes.keys).union(ResourceRequest.routes.keys).union(BackupRequest.routes.keys)
    }

    /// Turns a call's parameters into the request of one method.
    typealias Decode = @Sendable ([String: JSONValue]?) throws(HVError) -> Request

    /// The methods of `org.varlink.service`, the host, machines and the audit log, with how each
    /// one's parameters are read.
    static let routes: [String: Decode] = [
        Method.getInfo: noParameters(.getInfo),
        Method.getInterfaceDescription: { parameters throws(HVError) in
            .getInterfaceDescription(try StrictDecoding.decode(InterfaceDescriptionParameters.self, from: parameters).interface)
        },
        Method.hostGetInfo: noParameters(.hostInfo),
        Method.hostStats: noParameters(.hostStats),
        Method.hostHealth: noParameters(.hostHealth),
        Method.vmList: noParameters(.vmList),
        Method.vmInfo: { parameters throws(HVError) in .vmInfo(try name(parameters)) },
        Method.vmStart: { parameters throws(HVError) in .vmStart(try name(parameters)) },
        Method.vmShutdown: { parameters throws(HVError) in .vmShutdown(try name(parameters)) },
        Method.vmReboot: { parameters throws(HVError) in .vmReboot(try name(parameters)) },
        Method.vmKill: { parameters throws(HVError) in .vmKill(try name(parameters)) },
        Method.vmScreenshot: { parameters throws(HVError) in .vmScreenshot(try name(parameters)) },
        Method.vmCreate: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(VmCreateParameters.self, from: parameters)
            try decoded.spec.validate()
            return .vmCreate(decoded.spec)
        },
        Method.vmDelete: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(VmDeleteParameters.self, from: parameters)
            try VmName.validate(decoded.name)
            return .vmDelete(decoded.name, removeDisks: decoded.removeDisks ?? false)
        },
        Method.vmReadConsole: { parameters throws(HVError) in
            let decoded = try StrictDecoding.decode(VmConsoleParameters.self, from: parameters)
            try VmName.validate(decoded.name)
            let maxBytes = decoded.maxBytes ?? 64 * 1024
            guard (1...maximumConsoleBytes).contains(maxBytes) else {
                throw .invalidParameter(
                    "maxBytes", "maxBytes must be between 1 and \(maximumConsoleBytes), got \(maxBytes)"
                )
            }
            return .vmConsole(decoded.name, maxBytes: maxBytes)
        },
        Method.auditVerify: noParameters(.auditVerify),
    ]

    /// The machine name of a call whose only parameter is `name`, validated.
    static func name(_ parameters: [String: JSONValue]?) throws(HVError) -> String {
        let decoded = try StrictDecoding.decode(VmNameParameters.self, from: parameters)
        try VmName.validate(decoded.name)
        return decoded.name
    }
}

/// How a method without parameters is read: any parameter is refused, and the request is `request`.
func noParameters<Decoded: Sendable>(_ request: Decoded) -> @Sendable ([String: JSONValue]?) throws(HVError) -> Decoded {
    { parameters throws(HVError) in
        _ = try StrictDecoding.decode(NoParameters.self, from: parameters)
        return request
    }
}
