import Foundation
import Glibc
import HVSystem

/// Relays every connection made to `path` to the Unix socket `target`, byte for byte, until `cut()`
/// ends them all: a connection to a daemon that is lost on demand, while the daemon runs on.
final class SocketRelay: @unchecked Sendable {
    let path: String
    private let listener: Descriptor
    /// Guards `open` and `isCut`.
    private let lock = NSLock()
    private var open: [Int32] = []
    private var isCut = false

    init(to target: String, at path: String) throws {
        self.path = path
        listener = try Descriptor.listening(on: .unix(path: path))
        let listener = listener
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener.raw, nil, nil)
                guard client >= 0 else { return }
                guard let upstream = try? Descriptor.connected(to: .unix(path: target)).take(), admit(client, upstream) else {
                    Glibc.close(client)
                    return
                }
                let finished = Counter()
                for (from, to) in [(client, upstream), (upstream, client)] {
                    Thread.detachNewThread {
                        Self.pump(from: from, to: to)
                        // Both directions end together; the last one out closes the pair.
                        if finished.increment() == 2 { self.release([client, upstream]) }
                    }
                }
            }
        }
    }

    /// Ends every relayed connection and accepts no more: each side sees its peer hang up.
    func cut() {
        lock.lock()
        isCut = true
        let descriptors = open
        lock.unlock()
        shutdown(listener.raw, Int32(SHUT_RDWR))
        for descriptor in descriptors { shutdown(descriptor, Int32(SHUT_RDWR)) }
    }

    private func admit(_ client: Int32, _ upstream: Int32) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !isCut else {
            Glibc.close(upstream)
            return false
        }
        open += [client, upstream]
        return true
    }

    private func release(_ pair: [Int32]) {
        lock.lock()
        open.removeAll { pair.contains($0) }
        lock.unlock()
        pair.forEach { Glibc.close($0) }
    }

    private static func pump(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        copying: while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            var sent = 0
            while sent < count {
                let written = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + sent, count - sent) }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { break copying }
                sent += written
            }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(destination, Int32(SHUT_RDWR))
    }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0

        func increment() -> Int {
            lock.lock()
            defer { lock.unlock() }
            value += 1
            return value
        }
    }
}
