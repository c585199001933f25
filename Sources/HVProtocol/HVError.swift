/// An error that crosses the broker's socket: a code, what went wrong, and how to fix it.
///
/// Codes stay distinct from the broker to the wire to the CLI's exit status: a denial is never
/// reported as a failure, and invalid input never as "not found".
public struct HVError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let permissionDenied = Code(rawValue: "PermissionDenied")
        public static let authorizationUnavailable = Code(rawValue: "AuthorizationUnavailable")
        public static let hypervisorUnavailable = Code(rawValue: "HypervisorUnavailable")
        public static let invalidParameter = Code(rawValue: "InvalidParameter")
        public static let invalidSpec = Code(rawValue: "InvalidSpec")
        public static let notFound = Code(rawValue: "NotFound")
        public static let alreadyExists = Code(rawValue: "AlreadyExists")
        public static let invalidState = Code(rawValue: "InvalidState")
        public static let methodNotFound = Code(rawValue: "MethodNotFound")
        public static let interfaceNotFound = Code(rawValue: "InterfaceNotFound")
        public static let protocolError = Code(rawValue: "ProtocolError")
        public static let failed = Code(rawValue: "Failed")
        /// The request is valid but the host policy's limits or quotas do not allow it.
        public static let quotaExceeded = Code(rawValue: "QuotaExceeded")
        /// A change was refused because its audit record could not be written.
        public static let auditUnavailable = Code(rawValue: "AuditUnavailable")
        /// The client could not reach the broker at all.
        public static let brokerUnavailable = Code(rawValue: "BrokerUnavailable")
        /// The caller already has as much work waiting in the broker as it may; nothing was done.
        public static let busy = Code(rawValue: "Busy")
    }

    public var code: Code
    public var reason: String
    public var fix: String?
    /// Structured details a script may want: `action`, `field`, `name`, `state`, `parameter`.
    public var details: [String: String]

    public init(_ code: Code, _ reason: String, fix: String? = nil, details: [String: String] = [:]) {
        self.code = code
        self.reason = reason
        self.fix = fix
        self.details = details
    }

    public var description: String {
        guard let fix else { return reason }
        return "\(reason)\nfix: \(fix)"
    }

    /// The process exit status the CLI uses for this error.
    public var exitCode: Int32 {
        switch code {
        case .invalidParameter, .invalidSpec, .methodNotFound, .interfaceNotFound, .protocolError: 2
        case .notFound: 3
        case .permissionDenied: 4
        case .authorizationUnavailable, .hypervisorUnavailable, .brokerUnavailable, .auditUnavailable, .busy: 5
        case .alreadyExists, .invalidState, .quotaExceeded: 6
        default: 1
        }
    }
}

extension HVError {
    public static func invalidParameter(_ parameter: String, _ reason: String, fix: String? = nil) -> HVError {
        HVError(.invalidParameter, reason, fix: fix, details: ["parameter": parameter])
    }

    public static func invalidSpec(_ field: String, _ reason: String, fix: String? = nil) -> HVError {
        HVError(.invalidSpec, "\(field): \(reason)", fix: fix, details: ["field": field])
    }

    public static func unknownInterface(_ interface: String) -> HVError {
        HVError(
            .interfaceNotFound, "unknown interface '\(interface)'",
            fix: "call org.varlink.service.GetInfo for the interfaces this broker provides", details: ["interface": interface]
        )
    }

    public static func notFound(vm name: String) -> HVError {
        HVError(
            .notFound, "no virtual machine named '\(name)'",
            fix: "run 'hv vm list' to see the machines you can reach", details: ["name": name]
        )
    }
}

// MARK: - Wire form

extension HVError {
    /// The Varlink error name for this error when raised by a method of `interface`.
    public func varlinkName(interface: String) -> String {
        switch code {
        case .invalidParameter: "org.varlink.service.InvalidParameter"
        case .methodNotFound: "org.varlink.service.MethodNotFound"
        case .interfaceNotFound: "org.varlink.service.InterfaceNotFound"
        case .protocolError: "org.hypernixos.Protocol.\(details["kind"] ?? "MalformedMessage")"
        default: "\(interface.isEmpty ? "org.hypernixos.Broker" : interface).\(code.rawValue)"
        }
    }

    public var varlinkParameters: [String: JSONValue] {
        var parameters = details.mapValues(JSONValue.string)
        parameters["reason"] = .string(reason)
        if let fix { parameters["fix"] = .string(fix) }
        return parameters
    }

    /// Rebuilds an error from a Varlink error reply.
    public init(varlinkName name: String, parameters: [String: JSONValue]?) {
        let member = name.split(separator: ".").last.map(String.init) ?? name
        var details: [String: String] = [:]
        for (key, value) in parameters ?? [:] where key != "reason" && key != "fix" {
            if let text = value.stringValue { details[key] = text }
        }
        let reason = parameters?["reason"]?.stringValue
        let code: Code = name.hasPrefix("org.hypernixos.Protocol.") ? .protocolError : Code(rawValue: member)
        self.init(
            code,
            reason ?? HVError.standardReason(name: name, details: details),
            fix: parameters?["fix"]?.stringValue,
            details: details
        )
    }

    private static func standardReason(name: String, details: [String: String]) -> String {
        switch name {
        case "org.varlink.service.InvalidParameter": "invalid parameter '\(details["parameter"] ?? "?")'"
        case "org.varlink.service.MethodNotFound": "unknown method '\(details["method"] ?? "?")'"
        case "org.varlink.service.InterfaceNotFound": "unknown interface '\(details["interface"] ?? "?")'"
        default: name
        }
    }
}
