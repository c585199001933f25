/// `Vm.OpenConsole` (upload socket): attach to the machine's serial console.
public struct VmOpenConsoleParameters: Codable, Sendable, Hashable {
    public var name: String
    /// End the session that holds the console, as `virsh console --force` does.
    public var force: Bool?

    public init(name: String, force: Bool? = nil) {
        self.name = name
        self.force = force
    }
}

/// The reply that comes with the console's descriptor: the bytes the guest writes to its serial
/// port come out of it, and what is written to it is typed into the guest.
public struct VmOpenConsoleReply: Codable, Sendable, Hashable {
    public var name: String
    /// Another session held the console and was ended (`force`).
    public var tookOver: Bool

    public init(name: String, tookOver: Bool) {
        self.name = name
        self.tookOver = tookOver
    }
}

/// The reply that comes with a display's descriptor: a connection to the machine's display
/// server, which speaks `type` (`vnc` or `spice`) from its first byte.
public struct VmOpenGraphicsReply: Codable, Sendable, Hashable {
    public var name: String
    public var type: String

    public init(name: String, type: String) {
        self.name = name
        self.type = type
    }
}

/// `Vm.Screenshot`'s reply: the screen as a PNG file, base64-encoded.
public struct VmScreenshotReply: Codable, Sendable, Hashable {
    public var png: String
    public var width: Int
    public var height: Int

    public init(png: String, width: Int, height: Int) {
        self.png = png
        self.width = width
        self.height = height
    }
}
