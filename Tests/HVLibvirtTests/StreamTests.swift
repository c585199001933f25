import HVLibvirt
import Testing

/// Streams on libvirt's test driver: it takes screenshots (as PNG) but has neither consoles nor
/// a display to connect to, and says so with a typed error.
@Suite struct StreamTests {
    @Test func aScreenshotArrivesOnABlockingStream() throws {
        let connection = try TestDriver.open()
        let domain = try #require(try connection.domain(named: "test"))
        let stream = try LibvirtStream(connection: connection, nonBlocking: false)
        #expect(try domain.screenshot(into: stream) == "image/png")
        var image: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        reading: while true {
            switch try chunk.withUnsafeMutableBytes({ try stream.receive(into: $0) }) {
            case .bytes(let count): image += chunk[..<count]
            case .wouldBlock: Issue.record("a blocking stream said it would block")
            case .end: break reading
            }
        }
        try stream.finish()
        #expect(image.count > 1000)
        #expect(Array(image.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
    }

    @Test func theTestDriverHasNoConsoleOrDisplayToOpen() throws {
        let connection = try TestDriver.open()
        let domain = try #require(try connection.domain(named: "test"))
        let stream = try LibvirtStream(connection: connection, nonBlocking: true)
        let console = #expect(throws: LibvirtError.self) { try domain.openConsole(stream, force: false) }
        #expect(console?.isNoSupport == true, "\(String(describing: console))")
        #expect(console?.isConsoleInUse == false)
        let display = #expect(throws: LibvirtError.self) { _ = try domain.openGraphics() }
        #expect(display?.isNoSupport == true, "\(String(describing: display))")
    }
}
