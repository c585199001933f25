import CLibvirt
import Foundation

/// A libvirt data stream (`virStreamPtr`): a machine's serial console, or the image of a
/// screenshot. It is freed exactly once, when the last reference goes; a stream that was neither
/// finished nor aborted by then is aborted first, so libvirtd lets go of its end.
///
/// A blocking stream's calls wait for data; a non-blocking one (`nonBlocking: true`) answers
/// `wouldBlock` instead and says when to try again through `watch(_:handler:)`, which needs
/// `LibvirtEventLoop.shared` running (every `Connection` starts it).
public final class LibvirtStream: @unchecked Sendable {
    let pointer: virStreamPtr
    /// The stream's connection stays open while the stream is in use.
    private let connection: Connection
    /// Guards `ended` and `watched`.
    private let lock = NSLock()
    private var ended = false
    private var watched = false

    /// A new stream on `connection`, not yet attached to anything (`virStreamNew`).
    public init(connection: Connection, nonBlocking: Bool) throws(LibvirtError) {
        self.connection = connection
        let flags = nonBlocking ? VIR_STREAM_NONBLOCK.rawValue : 0
        pointer = try Call.pointer("creating a stream") { virStreamNew(connection.pointer, flags) }
    }

    deinit {
        unwatch()
        if !ended { _ = virStreamAbort(pointer) }
        virStreamFree(pointer)
    }

    /// What one read of the stream gave.
    public enum Received: Sendable, Hashable {
        /// This many bytes, at the start of the buffer.
        case bytes(Int)
        /// Nothing yet (non-blocking streams only): wait for `readable`.
        case wouldBlock
        /// The other side finished the stream: nothing more will come.
        case end
    }

    /// Reads up to `buffer.count` bytes (`virStreamRecv`).
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(LibvirtError) -> Received {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .bytes(0) }
        virResetLastError()
        let count = virStreamRecv(pointer, base.assumingMemoryBound(to: CChar.self), buffer.count)
        switch count {
        case -2: return .wouldBlock
        case 0: return .end
        case ..<0: throw LibvirtError.last("reading from the stream failed")
        default: return .bytes(Int(count))
        }
    }

    /// Writes from `bytes` (`virStreamSend`): how many were taken, or nil when the stream can take
    /// none now (non-blocking streams only: wait for `writable`).
    public func send(_ bytes: UnsafeRawBufferPointer) throws(LibvirtError) -> Int? {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        virResetLastError()
        let count = virStreamSend(pointer, base.assumingMemoryBound(to: CChar.self), bytes.count)
        if count == -2 { return nil }
        guard count >= 0 else { throw LibvirtError.last("writing to the stream failed") }
        return Int(count)
    }

    /// Ends a stream whose data all arrived, and waits for the other side to confirm
    /// (`virStreamFinish`).
    public func finish() throws(LibvirtError) {
        guard markEnded() else { return }
        _ = try Call.status("finishing the stream") { virStreamFinish(pointer) }
    }

    /// Ends the stream at once, whatever is under way (`virStreamAbort`); later calls do nothing.
    public func abort() {
        guard markEnded() else { return }
        _ = virStreamAbort(pointer)
    }

    private func markEnded() -> Bool {
        lock.withLock {
            defer { ended = true }
            return !ended
        }
    }

    /// Calls `handler` on the libvirt event loop's thread whenever one of `events` holds
    /// (`virStreamEventAddCallback`), until `unwatch()`. The handler must return at once and must
    /// not call libvirt: it only tells another thread to look. One watch a stream.
    public func watch(_ events: StreamEvents, handler: @escaping @Sendable (StreamEvents) -> Void) throws(LibvirtError) {
        let box = Unmanaged.passRetained(StreamHandler(handler)).toOpaque()
        let callback: virStreamEventCallback = { _, events, opaque in
            guard let opaque else { return }
            Unmanaged<StreamHandler>.fromOpaque(opaque).takeUnretainedValue().handler(StreamEvents(rawValue: events))
        }
        let release: virFreeCallback = { opaque in
            guard let opaque else { return }
            Unmanaged<StreamHandler>.fromOpaque(opaque).release()
        }
        do {
            _ = try Call.status("watching the stream") { virStreamEventAddCallback(pointer, events.rawValue, callback, box, release) }
        } catch {
            // libvirt calls the free callback only for registrations that succeeded.
            Unmanaged<StreamHandler>.fromOpaque(box).release()
            throw error
        }
        lock.withLock { watched = true }
    }

    /// Changes which events the watch reports (`virStreamEventUpdateCallback`).
    public func updateWatch(_ events: StreamEvents) throws(LibvirtError) {
        _ = try Call.status("changing what the stream is watched for") { virStreamEventUpdateCallback(pointer, events.rawValue) }
    }

    /// Stops the watch (`virStreamEventRemoveCallback`); later calls do nothing.
    public func unwatch() {
        guard lock.withLock({ () -> Bool in
            defer { watched = false }
            return watched
        }) else { return }
        _ = virStreamEventRemoveCallback(pointer)
    }
}

/// What a stream watch reports.
public struct StreamEvents: OptionSet, Sendable, Hashable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let readable = StreamEvents(rawValue: Int32(VIR_STREAM_EVENT_READABLE.rawValue))
    public static let writable = StreamEvents(rawValue: Int32(VIR_STREAM_EVENT_WRITABLE.rawValue))
    public static let error = StreamEvents(rawValue: Int32(VIR_STREAM_EVENT_ERROR.rawValue))
    public static let hangUp = StreamEvents(rawValue: Int32(VIR_STREAM_EVENT_HANGUP.rawValue))
}

/// The Swift handler a watch's opaque pointer refers to; libvirt's free callback releases it.
final class StreamHandler: Sendable {
    let handler: @Sendable (StreamEvents) -> Void

    init(_ handler: @escaping @Sendable (StreamEvents) -> Void) {
        self.handler = handler
    }
}
