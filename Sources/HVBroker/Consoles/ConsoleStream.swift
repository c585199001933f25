import HVSystem

/// A machine's serial console as a session's thread uses it: read and written without waiting,
/// with a descriptor that polls readable whenever there may be something to read. The libvirt
/// one is `LibvirtConsoleStream`; tests use a socket pair.
public protocol ConsoleStream: AnyObject, Sendable {
    /// Polls readable when the stream may have bytes, has ended or has failed; `receive` then says
    /// which. It may also poll readable with nothing to read.
    var readiness: Int32 { get }
    /// Reads what has arrived, up to `buffer.count` bytes.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> ConsoleRead
    /// Writes as much of `bytes` as the stream takes now.
    func send(_ bytes: UnsafeRawBufferPointer) -> ConsoleWrite
    /// Ends the stream and lets go of it; nothing is called after this.
    func close()
}

/// What one read of a console gave.
public enum ConsoleRead: Sendable, Hashable {
    case bytes(Int)
    /// Nothing now: wait until `readiness` polls readable.
    case empty
    /// The console closed: the machine stopped, or another session took it over.
    case ended
    case failed(String)
}

/// What one write to a console did.
public enum ConsoleWrite: Sendable, Hashable {
    case sent(Int)
    /// The console takes nothing now: try again shortly.
    case full
    case failed(String)
}

/// A console the broker attached to, and whether that ended another session (`force`).
public struct ConsoleAttachment: Sendable {
    public var stream: any ConsoleStream
    public var tookOver: Bool

    public init(stream: any ConsoleStream, tookOver: Bool) {
        self.stream = stream
        self.tookOver = tookOver
    }
}

/// A new connection to a machine's display and the protocol it speaks (`vnc`, `spice`).
public struct DisplayConnection: Sendable {
    public var descriptor: Descriptor
    public var type: String

    public init(descriptor: Descriptor, type: String) {
        self.descriptor = descriptor
        self.type = type
    }
}
