import CHVFDPassing
import Foundation
import HVClient
import HVProtocol
import HVServer
import HVServerTesting
import HVSystem
import HVTestSupport
import Logging
import Synchronization
import Testing

/// The upload socket's limits: message size, time to send the call, concurrent clients, and the
/// socket systemd passes.
@Suite(.serialized) struct DescriptorPassingLimitsTests {
    @Test func oversizedOrUnfinishedCallsAreRefused() async throws {
        try await withUploadServer(ReadingHandler(), configure: { $0.receiveTimeout = .seconds(1) }) { path in
            let file = try temporaryFile(contents: "x")
            let descriptor = try Descriptor.open(file, O_RDONLY)
            let big = try DescriptorPassing.exchange(
                socketPath: path, message: [UInt8](repeating: 0x20, count: 70_000), descriptors: [descriptor]
            )
            #expect(big.error == "org.hypernixos.Protocol.MessageTooLarge")

            let silent = try VarlinkClient(socketPath: path, timeoutSeconds: 60)
            try silent.send(Array(#"{"method":"#.utf8))
            let timedOut = try VarlinkJSON.decode(VarlinkReply.self, from: try silent.receive())
            #expect(timedOut.error == "org.hypernixos.Protocol.ReadTimeout")
        }
    }

    /// Beyond the limit a client is told so; a client that holds its slot without sending does
    /// not keep the server from shutting down.
    @Test func clientsBeyondTheLimitAreToldSo() async throws {
        let holder = Locked<Int32>(-1)
        defer { close(holder.get()) }
        try await withUploadServer(ReadingHandler(), configure: { $0.maximumClients = 1 }) { path in
            holder.set(try connectedSocket(path))
            let refused = waitUntil(10) {
                guard let second = try? VarlinkClient(socketPath: path, timeoutSeconds: 60),
                      let bytes = try? second.receive() else { return false }
                return (try? VarlinkJSON.decode(VarlinkReply.self, from: bytes))?.error == "org.hypernixos.Protocol.TooManyClients"
            }
            #expect(refused)
        }
    }

    /// One user may hold only its share of the connections; nothing is read from the rest.
    @Test func connectionsBeyondTheUserLimitAreRefused() async throws {
        let holder = Locked<Int32>(-1)
        defer { close(holder.get()) }
        try await withUploadServer(ReadingHandler(), configure: {
            $0.maximumClientsPerUser = 1
            $0.exemptUsers = []
        }) { path in
            holder.set(try connectedSocket(path))
            let second = try VarlinkClient(socketPath: path, timeoutSeconds: 60)
            let refused = try VarlinkJSON.decode(VarlinkReply.self, from: try second.receive())
            #expect(refused.error == "org.hypernixos.Protocol.TooManyClients")
            #expect(refused.parameters?["reason"]?.stringValue?.contains("uid \(getuid()) holds its limit of 1") == true)
        }
    }

    /// A client that keeps sending descriptors without finishing a call is cut off at the second:
    /// the server never holds more than one of them, and closes that one with the connection.
    @Test func aFloodOfDescriptorsIsCutOffAtTheSecond() async throws {
        let handler = ReadingHandler()
        try await withUploadServer(handler, configure: { $0.receiveTimeout = .seconds(120) }) { path in
            var pair: [Int32] = [0, 0]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
            defer { close(pair[0]) }
            let client = try connectedSocket(path)
            defer { close(client) }
            var byte: UInt8 = 0x20
            for _ in 0..<200 {
                // One byte and one descriptor a message, never the NUL that ends a call.
                guard hv_send_with_descriptors(client, &byte, 1, [pair[1]], 1) == 1 else { break }
            }
            close(pair[1])
            var framer = MessageFramer(maximumMessageSize: 64 * 1024)
            var reply: [UInt8]?
            var buffer = [UInt8](repeating: 0, count: 4096)
            while reply == nil {
                let count = recv(client, &buffer, buffer.count, 0)
                guard count > 0 else { break }
                framer.append(buffer[..<count])
                reply = try framer.next()
            }
            let refused = try VarlinkJSON.decode(VarlinkReply.self, from: try #require(reply, "the server replied"))
            #expect(refused.error == "org.varlink.service.InvalidParameter")
            #expect(refused.parameters?["reason"]?.stringValue?.contains("more than one file descriptor") == true)
            var entry = pollfd(fd: pair[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, 10_000)
            #expect(ready == 1, "every passed copy was closed long before the receive timeout")
            if ready == 1 { #expect(recv(pair[0], &byte, 1, Int32(MSG_DONTWAIT)) == 0) }
        }
        #expect(handler.handled.load(ordering: .relaxed) == 0)
        #expect(handler.rejected.load(ordering: .relaxed) == 1)
    }

    /// Under systemd the server adopts the listening socket it is given.
    @Test func adoptsAnInheritedListener() async throws {
        let path = temporaryDirectory() + "/inherited.sock"
        let listener = Descriptor(try listeningSocket(path), name: "a listening socket")
        var configuration = DescriptorServerConfiguration(listener: .inherited(descriptor: listener))
        configuration.maximumClients = 2
        try await withRunningServer(socket: path) { onListening in
            DescriptorServer(
                name: "upload", configuration: configuration, handler: ReadingHandler(), logger: Logger(label: "test"),
                onListening: onListening
            )
        } _: { path in
            try await onThread {
                let file = try temporaryFile(contents: "inherited")
                let descriptor = try Descriptor.open(file, O_RDONLY)
                let reply = try DescriptorPassing.call(socketPath: path, method: "test.Upload", descriptor: descriptor)
                #expect(reply.parameters?["content"] == .string("inherited"))
            }
        }
    }
}

/// A raw connection to the socket at `path`.
func connectedSocket(_ path: String) throws -> Int32 {
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else { throw SetupError("connect to \(path): \(String(cString: strerror(errno)))") }
    return descriptor
}
