import Foundation
import HVBroker
import HVProtocol
import Testing

/// The published interface descriptions (the IDL) and what the broker actually decodes must agree:
/// every declared method is answered, every declared parameter is a field the decoder knows, every
/// required one is required, and nothing undeclared is accepted. Read from the IDL text itself, so
/// there is no second list to keep.
@Suite struct ContractTests {
    struct Declared: Sendable, CustomStringConvertible {
        var method: String
        /// (name, type, optional)
        var parameters: [(String, String, Bool)]
        var description: String { method }
    }

    /// Every `method Name(...)` of the broker's interfaces, with its parameters.
    static let declared: [Declared] = Interfaces.all.filter { $0.hasPrefix("org.hypernixos.") }.flatMap { interface -> [Declared] in
        let text = Interfaces.description(of: interface) ?? ""
        return text.split(separator: "\n").compactMap { line -> Declared? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("method "), let open = trimmed.firstIndex(of: "("), let close = trimmed.firstIndex(of: ")") else { return nil }
            let name = trimmed[trimmed.index(trimmed.startIndex, offsetBy: 7)..<open]
            let parameters = trimmed[trimmed.index(after: open)..<close].split(separator: ",").map { field -> (String, String, Bool) in
                let parts = field.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                let type = parts.count > 1 ? parts[1] : ""
                return (parts[0], type.hasPrefix("?") ? String(type.dropFirst()) : type, type.hasPrefix("?"))
            }
            return Declared(method: "\(interface).\(name)", parameters: parameters)
        }
    }

    /// The declared methods `Request` decodes: all but the upload socket's call and the stream,
    /// whose parameters their own entry points read (`InterfaceTests` checks they are answered).
    static let decodedByRequest = declared.filter { Request.methods.contains($0.method) }

    /// A value of the declared type; never valid for every method, but always of the right shape.
    static func sample(_ type: String) -> JSONValue {
        if type.hasPrefix("[]") { return .array([]) }
        switch type {
        case "string": return .string("web")
        case "int": return .int(1)
        case "bool": return .bool(false)
        case "float": return .double(1)
        default: return .object([:])
        }
    }

    static func decode(_ method: String, _ parameters: [String: JSONValue]) -> HVError? {
        do {
            _ = try Request(VarlinkCall(method: method, parameters: parameters))
            return nil
        } catch {
            return error
        }
    }

    @Test func theIDLDeclaresEveryInterfaceMethod() {
        #expect(Self.declared.count > 40, "the IDL parsed: \(Self.declared.count) methods")
        let elsewhere = Set(Self.declared.map(\.method)).subtracting(Request.methods)
        #expect(elsewhere == Dispatcher.methods.subtracting(Request.methods), "only the stream and the upload are read elsewhere")
    }

    @Test(arguments: decodedByRequest)
    func everyDeclaredMethodIsDecodedWithItsDeclaredFields(_ declared: Declared) {
        var all: [String: JSONValue] = [:]
        for (name, type, _) in declared.parameters where !name.isEmpty { all[name] = Self.sample(type) }
        let error = Self.decode(declared.method, all)
        #expect(error?.code != .methodNotFound && error?.code != .interfaceNotFound, "\(declared.method) is declared but not answered")
        #expect(error?.reason.contains("unknown field") != true, "\(declared.method): a declared field is unknown to the decoder: \(String(describing: error))")
    }

    @Test(arguments: decodedByRequest)
    func requiredFieldsAreRequired(_ declared: Declared) {
        for (name, _, optional) in declared.parameters where !name.isEmpty && !optional {
            var parameters: [String: JSONValue] = [:]
            for (other, type, _) in declared.parameters where other != name && !other.isEmpty { parameters[other] = Self.sample(type) }
            let error = Self.decode(declared.method, parameters)
            #expect(error?.reason.contains("missing required field '\(name)'") == true, "\(declared.method) accepts a call without '\(name)': \(String(describing: error))")
        }
    }

    @Test(arguments: decodedByRequest)
    func undeclaredFieldsAreRefused(_ declared: Declared) {
        var parameters: [String: JSONValue] = ["undeclaredField": .int(1)]
        for (name, type, _) in declared.parameters where !name.isEmpty { parameters[name] = Self.sample(type) }
        let error = Self.decode(declared.method, parameters)
        #expect(error?.code == .invalidParameter, "\(declared.method) accepted an undeclared field")
    }
}
