import Foundation
import Glibc
import HVLibvirt
import HVSystem

/// A serial console through a non-blocking libvirt stream. libvirt says when there is something
/// to read on its event loop's thread; that thread only sends a byte on a socket pair, whose other
/// end the session's thread polls, and every read and write of the stream happens on the
/// session's thread.
final class LibvirtConsoleStream: ConsoleStream {
    private let stream: LibvirtStream
    /// The end the session polls; the other is the watch's, closed when libvirt lets go of it.
    private let signal: Descriptor

    /// Watches `stream`, already attached to the console.
    init(_ stream: LibvirtStream) throws {
        self.stream = stream
        let (mine, notify) = try Descriptor.socketPair(name: "a console's notices")
        try mine.setNonBlocking()
        signal = mine
        // On libvirt's event loop thread: no libvirt call, no waiting (a full socket already says
        // it), and no SIGPIPE once the session has closed its end.
        try stream.watch([.readable, .error, .hangUp]) { _ in
            var byte: UInt8 = 1
            _ = Glibc.send(notify.raw, &byte, 1, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
        }
    }

    var readiness: Int32 { signal.raw }

    func receive(into buffer: UnsafeMutableRawBufferPointer) -> ConsoleRead {
        // Notices are taken before the stream is read, so one that comes after this read is kept.
        var drain = [UInt8](repeating: 0, count: 64)
        while drain.withUnsafeMutableBytes({ read(signal.raw, $0.baseAddress, $0.count) }) > 0 {}
        do {
            switch try stream.receive(into: buffer) {
            case .bytes(let count): return .bytes(count)
            case .wouldBlock: return .empty
            case .end: return .ended
            }
        } catch {
            return .failed(error.message)
        }
    }

    func send(_ bytes: UnsafeRawBufferPointer) -> ConsoleWrite {
        do {
            guard let count = try stream.send(bytes) else { return .full }
            return .sent(count)
        } catch {
            return .failed(error.message)
        }
    }

    func close() {
        stream.unwatch()
        stream.abort()
        signal.close()
    }
}
