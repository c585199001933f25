/// Reads the XML libvirt writes into a `ParsedXML` tree in one pass, for the documents read on
/// every request (a domain's XML, the broker's metadata element).
///
/// It reads only what it can read exactly as Foundation's `XMLParser` (libxml2) does, and gives up
/// (returns nil) on everything else: malformed XML, but also well-formed XML it leaves to
/// `XMLParser` — a declaration, processing instruction, comment, CDATA section or document type,
/// a name that is not ASCII, a prefix it has no declaration for (or `xml:`/`xmlns:` on an element),
/// an attribute given twice, a carriage return anywhere or a tab or newline inside an attribute
/// value (which libxml2 normalizes), an entity other than the five predefined ones and character
/// references, and bytes that are not UTF-8 or not XML characters. libvirt writes none of these.
///
/// As with `XMLParser` and namespaces processed: names are local names, an element's namespace is
/// the one its prefix (or the default namespace) stands for, namespace declarations are not among
/// the attributes, a prefixed attribute keeps its prefix (`p:name`), and an element's text is all
/// of its character data, children's excluded.
struct XMLReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    /// The namespaces declared by the open elements, innermost last: prefix ("" for the default) → URI.
    private var scopes: [[String: String]] = []

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Deeper nesting is left to `XMLParser`.
    static let maximumDepth = 64

    static func read(_ text: String) -> ParsedXML? {
        var text = text
        return text.withUTF8 { buffer in
            var reader = XMLReader(buffer)
            reader.skipWhitespace()
            guard reader.current == UInt8(ascii: "<"), let root = reader.element(depth: 1) else { return nil }
            reader.skipWhitespace()
            return reader.index == buffer.count ? root : nil
        }
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A { index += 1 }
    }

    /// An element from its `<`.
    private mutating func element(depth: Int) -> ParsedXML? {
        guard depth <= Self.maximumDepth else { return nil }
        index += 1
        guard let qualified = name() else { return nil }
        var attributes: [String: String] = [:]
        var declared: [String: String] = [:]
        while true {
            let before = index
            skipWhitespace()
            guard let byte = current else { return nil }
            if byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") { break }
            // Attributes are separated by whitespace.
            guard index > before, let key = name() else { return nil }
            skipWhitespace()
            guard current == UInt8(ascii: "=") else { return nil }
            index += 1
            skipWhitespace()
            guard let value = attributeValue() else { return nil }
            if key == "xmlns" {
                guard declared.updateValue(value, forKey: "") == nil else { return nil }
            } else if key.hasPrefix("xmlns:") {
                let prefix = String(key.dropFirst(6))
                guard !value.isEmpty, prefix != "xml", prefix != "xmlns", declared.updateValue(value, forKey: prefix) == nil else {
                    return nil
                }
            } else {
                guard attributes.updateValue(value, forKey: key) == nil else { return nil }
            }
        }
        scopes.append(declared)
        defer { scopes.removeLast() }
        // Every prefixed attribute's prefix must be declared, and no two may name the same
        // attribute in the end; libxml2 complains otherwise.
        var prefixedNames: Set<String> = []
        for key in attributes.keys where key.contains(":") {
            let (prefix, local) = Self.split(key)
            guard let prefix, prefix != "xmlns", namespace(of: prefix) != nil || prefix == "xml",
                prefixedNames.insert(local).inserted
            else { return nil }
        }
        let (prefix, local) = Self.split(qualified)
        guard prefix != "xml", prefix != "xmlns" else { return nil }
        let uri: String?
        if let prefix {
            guard let declared = namespace(of: prefix) else { return nil }
            uri = declared
        } else {
            uri = namespace(of: "").flatMap { $0.isEmpty ? nil : $0 }
        }
        var element = ParsedXML(name: local, namespace: uri, attributes: attributes)
        if current == UInt8(ascii: "/") {
            index += 1
            guard current == UInt8(ascii: ">") else { return nil }
            index += 1
            return element
        }
        index += 1
        var text: [UInt8] = []
        while true {
            guard let byte = current else { return nil }
            switch byte {
            case UInt8(ascii: "<"):
                guard index + 1 < bytes.count else { return nil }
                if bytes[index + 1] == UInt8(ascii: "/") {
                    index += 2
                    guard name() == qualified else { return nil }
                    skipWhitespace()
                    guard current == UInt8(ascii: ">") else { return nil }
                    index += 1
                    guard let decoded = Self.text(text) else { return nil }
                    element.text = decoded
                    return element
                }
                // Comments, CDATA, processing instructions: left to XMLParser.
                guard Self.isNameStart(bytes[index + 1]), let child = self.element(depth: depth + 1) else { return nil }
                element.children.append(child)
            case UInt8(ascii: "&"):
                guard reference(into: &text) else { return nil }
            case UInt8(ascii: ">"):
                // `]]>` may not appear in text; a lone `>` may.
                if text.count >= 2, text[text.count - 1] == UInt8(ascii: "]"), text[text.count - 2] == UInt8(ascii: "]") { return nil }
                text.append(byte)
                index += 1
            case 0x09, 0x0A, 0x20...:
                text.append(byte)
                index += 1
            default:
                // A carriage return (normalized by libxml2) or a control character.
                return nil
            }
        }
    }

    /// The URI `prefix` stands for in the open elements; nil when undeclared.
    private func namespace(of prefix: String) -> String? {
        for scope in scopes.reversed() {
            if let uri = scope[prefix] { return uri }
        }
        return nil
    }

    private static func split(_ qualified: String) -> (prefix: String?, local: String) {
        guard let colon = qualified.firstIndex(of: ":") else { return (nil, qualified) }
        return (String(qualified[..<colon]), String(qualified[qualified.index(after: colon)...]))
    }

    /// An ASCII name with at most one colon, neither first nor last.
    private mutating func name() -> String? {
        let start = index
        guard let first = current, Self.isNameStart(first) else { return nil }
        index += 1
        var colons = 0
        while let byte = current, Self.isNameStart(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ":")
        {
            if byte == UInt8(ascii: ":") { colons += 1 }
            index += 1
        }
        guard colons <= 1, bytes[index - 1] != UInt8(ascii: ":") else { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    private static func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "_")
    }

    /// A quoted attribute value, references replaced.
    private mutating func attributeValue() -> String? {
        guard let quote = current, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { return nil }
        index += 1
        var value: [UInt8] = []
        while let byte = current {
            switch byte {
            case quote:
                index += 1
                return Self.text(value)
            case UInt8(ascii: "&"):
                guard reference(into: &value) else { return nil }
            case UInt8(ascii: "<"), 0..<0x20:
                // `<` is not allowed; tabs, newlines and carriage returns are normalized by libxml2.
                return nil
            default:
                value.append(byte)
                index += 1
            }
        }
        return nil
    }

    /// `&lt;`, `&gt;`, `&amp;`, `&apos;`, `&quot;`, `&#N;` or `&#xH;` from the `&`, appended as UTF-8.
    private mutating func reference(into output: inout [UInt8]) -> Bool {
        guard let end = bytes[index...].firstIndex(of: UInt8(ascii: ";")), end - index <= 10 else { return false }
        let body = String(decoding: UnsafeBufferPointer(rebasing: bytes[(index + 1)..<end]), as: UTF8.self)
        index = end + 1
        switch body {
        case "lt": output.append(UInt8(ascii: "<"))
        case "gt": output.append(UInt8(ascii: ">"))
        case "amp": output.append(UInt8(ascii: "&"))
        case "apos": output.append(UInt8(ascii: "'"))
        case "quot": output.append(UInt8(ascii: "\""))
        default:
            let code: UInt32?
            if body.hasPrefix("#x") {
                code = UInt32(body.dropFirst(2), radix: 16)
            } else if body.hasPrefix("#") {
                code = UInt32(body.dropFirst(), radix: 10)
            } else {
                code = nil
            }
            guard let code, body.count > (body.hasPrefix("#x") ? 2 : 1), body.dropFirst().allSatisfy({ $0 != "+" && $0 != "-" }),
                let scalar = Unicode.Scalar(code), Self.isXMLCharacter(scalar)
            else { return false }
            output.append(contentsOf: UTF8.encode(scalar)!)
        }
        return true
    }

    /// Character data as a string: nil when it is not UTF-8 or holds a scalar XML does not allow.
    private static func text(_ bytes: [UInt8]) -> String? {
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): guard isXMLCharacter(scalar) else { return nil }
            case .emptyInput: return String(decoding: bytes, as: UTF8.self)
            case .error: return nil
            }
        }
    }

    /// XML 1.0's `Char`: tab, newline, carriage return and the scalars from U+0020 but U+FFFE and U+FFFF.
    private static func isXMLCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }
}
