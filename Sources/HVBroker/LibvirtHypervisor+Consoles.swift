import Foundation
import HVDomainXML
import HVImages
import HVLibvirt
import HVProtocol
import HVSystem

/// The interactive consoles: the serial console as a stream a session pumps, a new connection to
/// the display, and screenshots. Each opens what it needs on the libvirt pool; nothing here waits
/// for the caller.
extension LibvirtHypervisor {
    public func openConsole(_ name: String, force: Bool) async throws(HVError) -> ConsoleAttachment {
        try await run { connection in
            let domain = try self.runningDomain(name, to: "attach to its console", connection)
            var stream = try LibvirtStream(connection: connection, nonBlocking: true)
            var tookOver = false
            do {
                try domain.openConsole(stream, force: false)
            } catch let error as LibvirtError where error.isNoConsoleDevice {
                throw HVError(
                    .invalidState, "'\(name)' has no serial console",
                    fix: "set 'serial: true' in its spec and apply it (hv vm apply FILE); "
                        + "it takes effect when the machine next starts",
                    details: ["name": name, "state": "no serial console"]
                )
            } catch let error as LibvirtError where error.isConsoleInUse {
                guard force else { throw Self.consoleInUse(name) }
                // A stream that failed to attach is not used again.
                stream = try LibvirtStream(connection: connection, nonBlocking: true)
                try domain.openConsole(stream, force: true)
                tookOver = true
            }
            return ConsoleAttachment(stream: try LibvirtConsoleStream(stream), tookOver: tookOver)
        }
    }

    public func openGraphics(_ name: String) async throws(HVError) -> DisplayConnection {
        try await run { connection in
            let domain = try self.runningDomain(name, to: "connect to its display", connection)
            let type = try Self.displayType(domain)
            let descriptor = Descriptor(try domain.openGraphics(), name: "the display of \(name)")
            return DisplayConnection(descriptor: descriptor, type: type)
        }
    }

    /// The screen as PNG: QEMU's pixmap converted here, a PNG (libvirt's test driver) checked and kept.
    public func screenshot(_ name: String) async throws(HVError) -> VmScreenshotReply {
        try await run { connection in
            let domain = try self.runningDomain(name, to: "take a screenshot", connection)
            _ = try Self.displayType(domain)
            let stream = try LibvirtStream(connection: connection, nonBlocking: false)
            let type = try domain.screenshot(into: stream)
            let image = try Self.readAll(stream, limit: Self.maximumScreenshotBytes)
            let png: [UInt8]
            do throws(ImageError) {
                switch type {
                case "image/x-portable-pixmap": png = try PNG.encode(try Pixmap(ppm: image))
                case "image/png": png = image
                default:
                    throw ImageError(
                        .unreadableImage, "the hypervisor sent the screenshot as \(type), which the broker does not convert"
                    )
                }
            } catch {
                throw error.hvError
            }
            guard let size = PNG.dimensions(of: png) else {
                throw HVError(.failed, "the hypervisor's screenshot of '\(name)' is not a PNG image")
            }
            return VmScreenshotReply(png: Data(png).base64EncodedString(), width: size.width, height: size.height)
        }
    }

    /// The most a screenshot may be as the hypervisor sends it: the largest pixmap read, and its header.
    static let maximumScreenshotBytes = Pixmap.maximumBytes + 64

    /// Reads a blocking stream to its end; more than `limit` bytes ends it and fails.
    static func readAll(_ stream: LibvirtStream, limit: Int) throws -> [UInt8] {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            switch try chunk.withUnsafeMutableBytes({ try stream.receive(into: $0) }) {
            case .bytes(let count):
                data += chunk[..<count]
                guard data.count <= limit else {
                    stream.abort()
                    throw HVError(.failed, "the hypervisor's screenshot is larger than \(limit) bytes")
                }
            case .wouldBlock: continue
            case .end:
                try stream.finish()
                return data
            }
        }
    }

    /// The machine, which must be running for what the caller wants `to` do.
    func runningDomain(_ name: String, to purpose: String, _ connection: Connection) throws -> Domain {
        let domain = try self.domain(name, connection)
        let state = try domain.state()
        guard state.isActive else {
            throw HVError(
                .invalidState, "'\(name)' is \(state.rawValue); start it to \(purpose)", fix: "hv vm start \(name)",
                details: ["name": name, "state": state.rawValue]
            )
        }
        return domain
    }

    /// The protocol of the machine's display (`vnc`, `spice`); a machine without one is told how
    /// to get one.
    static func displayType(_ domain: Domain) throws -> String {
        guard let display = try DomainFacts.read(domainXML: try domain.xmlDescription()).graphics else {
            throw HVError(
                .invalidState, "'\(domain.name)' has no display",
                fix: "add 'graphics: {type: vnc}' to its spec and apply it (hv vm apply FILE); "
                    + "it takes effect when the machine next starts",
                details: ["name": domain.name, "state": "no display"]
            )
        }
        return display.type
    }

    static func consoleInUse(_ name: String) -> HVError {
        HVError(
            .invalidState, "the console of '\(name)' is in use by another session",
            fix: "use --force to take it over (hv console \(name) --force); the other session ends",
            details: ["name": name, "state": "console in use"]
        )
    }
}
