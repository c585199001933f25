import Foundation
import HVProtocol
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A Varlink server on a Unix socket that answers each method with a canned reply, on a thread
/// of its own: enough of the broker for the health runner to talk to.
final class FakeBroker: Sendable {
    let path: String
    private let descriptor: Int32
    /// The reply to each method; tests may change them between runs.
    let replies: Mutex<[String: VarlinkReply]>
    let calls = Mutex<[String]>([])

    init(replies: [String: VarlinkReply]) throws {
        path = NSTemporaryDirectory() + "hv-health-\(UUID().uuidString.prefix(8)).sock"
        self.replies = Mutex(replies)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let socketPath = path
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(socketPath.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard descriptor >= 0, bound == 0, listen(descriptor, 8) == 0 else {
            throw HVError(.failed, "fake broker: cannot listen on \(socketPath)")
        }
        self.descriptor = descriptor
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    static let serviceInfo = VarlinkReply(parameters: [
        "vendor": .string("Hyper-NixOS"), "product": .string("hv-broker"), "version": .string("0.1.0"),
        "url": .string("https://hypernixos.org"), "interfaces": .array([.string("org.hypernixos.Host")]),
    ])

    static func reply<Value: Encodable>(_ value: Value) throws -> VarlinkReply {
        VarlinkReply(parameters: try VarlinkJSON.object(value))
    }

    static func error(_ error: HVError, interface: String = "org.hypernixos.Host") -> VarlinkReply {
        VarlinkReply(parameters: error.varlinkParameters, error: error.varlinkName(interface: interface))
    }

    /// Stops accepting. The serving thread closes the socket itself once accept fails, so its
    /// descriptor number cannot be reused by another test's socket while it still accepts on it.
    func stop() {
        unlink(path)
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    private func serve() {
        while true {
            let client = accept(descriptor, nil, nil)
            guard client >= 0 else {
                close(descriptor)
                return
            }
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
                guard count > 0 else { break }
                pending += buffer[..<count]
                while let end = pending.firstIndex(of: 0) {
                    let message = Array(pending[..<end])
                    pending.removeSubrange(...end)
                    guard let call = try? VarlinkJSON.decode(VarlinkCall.self, from: message) else { continue }
                    calls.withLock { $0.append(call.method) }
                    let reply = replies.withLock { $0[call.method] } ?? VarlinkReply(error: "org.varlink.service.MethodNotFound")
                    var bytes = (try? VarlinkJSON.encode(reply)) ?? []
                    bytes.append(0)
                    _ = bytes.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                }
            }
            close(client)
        }
    }
}
