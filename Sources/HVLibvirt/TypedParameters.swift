import CLibvirt

/// One value of a libvirt typed parameter (`virTypedParameter`), copied out of libvirt's memory.
public enum TypedValue: Sendable, Hashable {
    case signed(Int64)
    case unsigned(UInt64)
    case double(Double)
    case boolean(Bool)
    case string(String)

    /// The value as a signed 64-bit integer; nil for strings, doubles and booleans.
    public var int64: Int64? {
        switch self {
        case .signed(let value): value
        case .unsigned(let value): Int64(clamping: value)
        case .double, .boolean, .string: nil
        }
    }

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

/// Named typed parameters as libvirt returns them from bulk statistics calls, e.g. `block.0.rd.bytes`.
public struct TypedParameters: Sendable, Hashable {
    public var values: [String: TypedValue]

    public init(_ values: [String: TypedValue] = [:]) {
        self.values = values
    }

    /// Copies an array libvirt owns; the caller keeps ownership of the memory.
    init(copying parameters: UnsafeMutablePointer<virTypedParameter>?, count: Int32) {
        values = [:]
        guard let parameters, count > 0 else { return }
        for index in 0..<Int(count) {
            let parameter = parameters[index]
            let field = withUnsafeBytes(of: parameter.field) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            let value: TypedValue? = switch UInt32(bitPattern: parameter.type) {
            case VIR_TYPED_PARAM_INT.rawValue: .signed(Int64(parameter.value.i))
            case VIR_TYPED_PARAM_UINT.rawValue: .unsigned(UInt64(parameter.value.ui))
            case VIR_TYPED_PARAM_LLONG.rawValue: .signed(parameter.value.l)
            case VIR_TYPED_PARAM_ULLONG.rawValue: .unsigned(parameter.value.ul)
            case VIR_TYPED_PARAM_DOUBLE.rawValue: .double(parameter.value.d)
            case VIR_TYPED_PARAM_BOOLEAN.rawValue: .boolean(parameter.value.b != 0)
            case VIR_TYPED_PARAM_STRING.rawValue: parameter.value.s.map { .string(String(cString: $0)) }
            default: nil
            }
            if let value { values[field] = value }
        }
    }

    public subscript(_ field: String) -> TypedValue? { values[field] }

    public func int64(_ field: String) -> Int64? { values[field]?.int64 }

    public func string(_ field: String) -> String? { values[field]?.string }
}
