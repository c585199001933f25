import Foundation
import HVProtocol

/// JSON spec files. Foundation's decoder keeps one of two equal keys silently; a spec with the
/// same key twice is ambiguous, so it is refused as YAML refuses it.
enum JSONReading {
    static func value(_ data: Data, file: String) throws(HVError) -> JSONValue {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            let detail = context.underlyingError.map { "\($0)" } ?? context.debugDescription
            throw SpecFile.fileError(file, "is not valid JSON: \(detail)", fix: "check the file with 'python3 -m json.tool'")
        } catch {
            throw SpecFile.fileError(file, "is not valid JSON: \(error)", fix: "check the file with 'python3 -m json.tool'")
        }
        if let duplicate = firstDuplicateKey(in: Array(data)) {
            throw .invalidSpec(duplicate, "appears twice in the same object", fix: "keep only one of them")
        }
        return value
    }

    private enum Frame {
        case object(keys: Set<String>, expectingKey: Bool, key: String)
        case array(index: Int)
    }

    /// The path of the first key that appears twice in one object, in `bytes` the decoder
    /// accepted. That is not always valid JSON: Foundation's decoder takes a top-level `0` followed
    /// by NUL bytes and then a stray quote or bracket (`0\0\0\0 "}`), so the scan never reads past
    /// the end or closes more than it opened.
    static func firstDuplicateKey(in bytes: [UInt8]) -> String? {
        var stack: [Frame] = []
        var position = 0
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                let start = position
                position += 1
                while position < bytes.count, bytes[position] != UInt8(ascii: "\"") {
                    position += bytes[position] == UInt8(ascii: "\\") ? 2 : 1
                }
                guard position < bytes.count else { return nil }
                guard case .object(var keys, true, _)? = stack.last else { break }
                let literal = bytes[start...position]
                let key =
                    literal.contains(UInt8(ascii: "\\"))
                    ? (try? JSONDecoder().decode(String.self, from: Data(literal))) ?? ""
                    : String(decoding: literal.dropFirst().dropLast(), as: UTF8.self)
                if keys.contains(key) { return path(stack) }
                keys.insert(key)
                stack[stack.count - 1] = .object(keys: keys, expectingKey: false, key: key)
            case UInt8(ascii: "{"): stack.append(.object(keys: [], expectingKey: true, key: ""))
            case UInt8(ascii: "["): stack.append(.array(index: 0))
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = stack.popLast()
            case UInt8(ascii: ","):
                switch stack.last {
                case .object(let keys, _, let key)?: stack[stack.count - 1] = .object(keys: keys, expectingKey: true, key: key)
                case .array(let index)?: stack[stack.count - 1] = .array(index: index + 1)
                case nil: break
                }
            default: break
            }
            position += 1
        }
        return nil
    }

    private static func path(_ stack: [Frame]) -> String {
        var text = ""
        for frame in stack {
            switch frame {
            case .object(_, _, let key): text += text.isEmpty ? key : ".\(key)"
            case .array(let index): text += "[\(index)]"
            }
        }
        return text
    }
}
