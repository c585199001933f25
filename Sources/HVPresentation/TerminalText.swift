/// Text from a guest (its serial console, a DHCP host name) made safe to print on a terminal.
///
/// A guest controls every byte it prints. Passed through, its escape sequences would be obeyed by
/// the operator's terminal: clear or redraw the screen, move the cursor to overwrite lines, set the
/// window title or the clipboard (OSC 52). `visible` shows such bytes instead, as `less` and
/// `cat -v` do:
///
/// - line feeds and tabs stay; a carriage return before a line feed is dropped (serial consoles
///   end lines with CR LF), any other carriage return, which would let later text hide earlier
///   text on the same line, is shown as `^M`;
/// - the other C0 controls and DEL are shown in caret notation: ESC as `^[`, BEL as `^G`, DEL as `^?`;
/// - C1 controls (U+0080–U+009F, which some terminals obey like ESC sequences) and the
///   bidirectional formatting characters, which reorder what is shown, as `<U+009B>`;
/// - bytes that are not UTF-8 (a raw C1 byte such as 0x9B among them) as `\x9b`.
///
/// Everything else, including any other Unicode text, is kept as it is.
public enum TerminalText {
    public static func visible(_ text: String) -> String {
        visible(Array(text.utf8))
    }

    public static func visible(_ bytes: [UInt8]) -> String {
        var output = ""
        output.reserveCapacity(bytes.count)
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        // Where the next scalar or error starts: the parser hands them back in order, so the
        // lengths it reports add up to positions in `bytes`.
        var position = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                position += encoded.count
                let nextIsLineFeed = position < bytes.count && bytes[position] == 0x0A
                append(scalar, beforeLineFeed: nextIsLineFeed, to: &output)
            case .error(let length):
                for byte in bytes[position..<position + length] {
                    output += "\\x" + hex(byte, digits: 2, uppercase: false)
                }
                position += length
            case .emptyInput:
                return output
            }
        }
    }

    private static func append(_ scalar: Unicode.Scalar, beforeLineFeed: Bool, to output: inout String) {
        switch scalar.value {
        case 0x0A, 0x09:
            output.unicodeScalars.append(scalar)
        case 0x0D where beforeLineFeed:
            break
        case 0x00...0x1F:
            output += "^" + String(Unicode.Scalar(UInt8(scalar.value) + 0x40))
        case 0x7F:
            output += "^?"
        case 0x80...0x9F, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069:
            output += "<U+" + hex(scalar.value, digits: 4, uppercase: true) + ">"
        default:
            output.unicodeScalars.append(scalar)
        }
    }

    private static func hex<Value: BinaryInteger>(_ value: Value, digits: Int, uppercase: Bool) -> String {
        let text = String(value, radix: 16, uppercase: uppercase)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
