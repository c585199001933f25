import Foundation
import HVClient
import HVProtocol
import HVServer
import HVServerTesting
import HVSystem
import HVTestSupport
import Synchronization
import Testing

/// The upload socket: a call arrives with exactly one open, readable regular file, and the
/// handler reads the caller's file through it; anything else is refused and every descriptor
/// that came along is closed.
@Suite(.serialized) struct DescriptorPassingTests {
    @Test func handlerReadsTheFileThroughTheDescriptor() async throws {
        let handler = ReadingHandler()
        try await withUploadServer(handler) { path in
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o666, "polkit decides who may upload, not the socket's mode")
            let file = try temporaryFile(contents: "an installation image")
            let descriptor = try Descriptor.open(file, O_RDONLY)
            let reply = try DescriptorPassing.call(
                socketPath: path, method: "test.Upload", parameters: ["name": .string("debian.iso")], descriptor: descriptor
            )
            #expect(reply.error == nil)
            #expect(reply.parameters?["content"] == .string("an installation image"))
            #expect(reply.parameters?["method"] == .string("test.Upload"))
            #expect(integer(reply.parameters?["uid"]) == Int(getuid()))
            #expect(integer(reply.parameters?["pid"]) == Int(getpid()))

            // The typed form, with the file open read-write.
            let readWrite = try Descriptor.open(file, O_RDWR)
            let typed: UploadReply = try DescriptorPassing.call(
                "test.Upload", ["name": "debian.iso"], descriptor: readWrite, socketPath: path
            )
            #expect(typed.content == "an installation image")
        }
        #expect(handler.handled.load(ordering: .relaxed) == 2)
    }

    /// Peer credentials come from the kernel: another user's call carries that user's uid.
    @Test(.enabled(if: getuid() == 0, "passing a descriptor as another user needs root to switch users"))
    func peerIsTheCallingUser() async throws {
        let handler = ReadingHandler()
        try await withUploadServer(handler) { path in
            let file = try temporaryFile(contents: "from nobody")
            chmod(file, 0o644)
            chmod((path as NSString).deletingLastPathComponent, 0o755)
            let script = """
                import json, os, socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sys.argv[1])
                fd = os.open(sys.argv[2], os.O_RDONLY)
                socket.send_fds(s, [json.dumps({"method": "test.Upload"}).encode() + b"\\0"], [fd])
                reply = b""
                while not reply.endswith(b"\\0"):
                    chunk = s.recv(4096)
                    if not chunk: break
                    reply += chunk
                print(reply[:-1].decode())
                """
            let output = try run(["python3", "-c", script, path, file], as: "nobody")
            #expect(output.status == 0, "\(output)")
            let reply = try VarlinkJSON.decode(VarlinkReply.self, from: Array(output.stdout.utf8.dropLast()))
            #expect(reply.parameters?["content"] == .string("from nobody"))
            #expect(integer(reply.parameters?["uid"]) == 65534)
        }
    }

    @Test(arguments: ["pipe", "directory", "write-only", "path-only", "socket"])
    func descriptorThatIsNotAReadableFileIsRefused(kind: String) async throws {
        let handler = ReadingHandler()
        try await withUploadServer(handler) { path in
            let descriptor = try openDescriptor(kind)
            let reply = try DescriptorPassing.call(socketPath: path, method: "test.Upload", descriptor: descriptor)
            #expect(reply.error == "org.varlink.service.InvalidParameter")
            #expect(reply.parameters?["parameter"] == .string("descriptor"))
            let reason = reply.parameters?["reason"]?.stringValue ?? ""
            #expect(kind == "write-only" || kind == "path-only" ? reason.contains("not open for reading") : reason.contains("not a regular file"))
        }
        #expect(handler.handled.load(ordering: .relaxed) == 0)
        #expect(handler.rejected.load(ordering: .relaxed) == 1)
    }

    @Test func callWithoutDescriptorIsRefused() async throws {
        let handler = ReadingHandler()
        try await withUploadServer(handler) { path in
            let reply = try DescriptorPassing.exchange(
                socketPath: path, message: Array(#"{"method":"test.Upload"}"#.utf8), descriptors: []
            )
            #expect(reply.error == "org.varlink.service.InvalidParameter")
            #expect(reply.parameters?["reason"]?.stringValue?.contains("no file descriptor") == true)
        }
        #expect(handler.handled.load(ordering: .relaxed) == 0)
    }

    /// Several descriptors are refused, and the server closes every one: once the caller closes
    /// its own end too, the other end of the socket pair sees end-of-file. A leak would keep it open.
    @Test(arguments: [2, 16])
    func extraDescriptorsAreRefusedAndClosed(count: Int) async throws {
        let handler = ReadingHandler()
        try await withUploadServer(handler) { path in
            var pair: [Int32] = [0, 0]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
            defer { close(pair[0]) }
            let sent = Descriptor(pair[1], name: "one end of a socket pair")
            let reply = try DescriptorPassing.exchange(
                socketPath: path, message: Array(#"{"method":"test.Upload"}"#.utf8),
                descriptors: [Descriptor](repeating: sent, count: count)
            )
            sent.close()
            #expect(reply.error == "org.varlink.service.InvalidParameter")
            #expect(reply.parameters?["reason"]?.stringValue?.contains("more than one file descriptor") == true)
            var entry = pollfd(fd: pair[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, 10_000)
            #expect(ready == 1, "every passed copy was closed")
            var byte: UInt8 = 0
            if ready == 1 { #expect(recv(pair[0], &byte, 1, Int32(MSG_DONTWAIT)) == 0) }
        }
        #expect(handler.handled.load(ordering: .relaxed) == 0)
    }
}

/// The other way: a call of a handed-out method comes alone and its reply brings one descriptor,
/// which the server closes once sent, so the caller holds the only copy.
@Suite(.serialized) struct HandedOutDescriptorTests {
    @Test func theReplyBringsOneDescriptor() async throws {
        let handler = ReadingHandler()
        try await withUploadServer(handler) { path in
            let answer = try DescriptorPassing.receiving(socketPath: path, method: "test.HandOut", parameters: ["name": .string("x")])
            #expect(answer.reply.error == nil)
            #expect(answer.reply.parameters?["kind"] == .string("pipe"))
            let pipe = try #require(answer.descriptor)
            var buffer = [UInt8](repeating: 0, count: 64)
            // The server closed its copy of the write end: the pipe ends after what was written.
            var content: [UInt8] = []
            while case let count = try pipe.read(into: &buffer), count > 0 { content += buffer[..<count] }
            #expect(String(decoding: content, as: UTF8.self) == "uid \(getuid())")
        }
        #expect(handler.handled.load(ordering: .relaxed) == 1)
    }

    @Test func anErrorReplyBringsNone() async throws {
        let handler = ReadingHandler()
        try await withUploadServer(handler) { path in
            let answer = try DescriptorPassing.receiving(socketPath: path, method: "test.HandOut", parameters: ["name": .string("nobody")])
            #expect(answer.reply.error == "org.hypernixos.Broker.PermissionDenied")
            #expect(answer.descriptor == nil)
        }
    }

    /// A handed-out call must come alone; any other call still needs its one file.
    @Test func aHandedOutCallWithAFileIsRefused() async throws {
        let handler = ReadingHandler()
        try await withUploadServer(handler) { path in
            let file = try Descriptor.open(try temporaryFile(contents: "x"), O_RDONLY)
            let reply = try DescriptorPassing.exchange(socketPath: path, message: Array(#"{"method":"test.HandOut"}"#.utf8), descriptors: [file])
            #expect(reply.error == "org.varlink.service.InvalidParameter")
            #expect(reply.parameters?["reason"]?.stringValue?.contains("takes no file descriptor") == true)
            let other = try DescriptorPassing.receiving(socketPath: path, method: "test.Upload")
            #expect(other.reply.parameters?["reason"]?.stringValue?.contains("no file descriptor") == true)
            #expect(other.descriptor == nil)
        }
        #expect(handler.handled.load(ordering: .relaxed) == 0)
        #expect(handler.rejected.load(ordering: .relaxed) == 2)
    }
}

/// Reads the whole file it is handed and replies with its content and the caller's credentials.
final class ReadingHandler: DescriptorHandler {
    let handled = Atomic<Int>(0)
    let rejected = Atomic<Int>(0)

    func handle(_ message: [UInt8], descriptor: Descriptor, from peer: Peer) async -> [UInt8] {
        handled.add(1, ordering: .relaxed)
        var content: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(descriptor.raw, $0.baseAddress, $0.count, off_t(content.count)) }
            guard count > 0 else { break }
            content += buffer[..<count]
        }
        let method = (try? VarlinkJSON.decode(VarlinkCall.self, from: message))?.method ?? "?"
        let reply = VarlinkReply(parameters: [
            "content": .string(String(decoding: content, as: UTF8.self)), "method": .string(method),
            "uid": .int(Int64(peer.uid)), "pid": .int(Int64(peer.pid)),
        ])
        return (try? VarlinkJSON.encode(reply)) ?? []
    }

    var handedOutMethods: Set<String> { ["test.HandOut"] }

    /// Answers with the read end of a pipe holding the caller's uid, or, for a caller named
    /// "nobody", with an error and no descriptor.
    func handOut(_ message: [UInt8], from peer: Peer) async -> HandedOut {
        handled.add(1, ordering: .relaxed)
        let name = (try? VarlinkJSON.decode(VarlinkCall.self, from: message))?.parameters?["name"]?.stringValue
        guard name != "nobody", let (read, write) = try? Descriptor.pipe(), (try? write.writeAll(Array("uid \(peer.uid)".utf8))) != nil else {
            return HandedOut(reply: ErrorReply.encode(HVError(.permissionDenied, "not for you")))
        }
        return HandedOut(reply: (try? VarlinkJSON.encode(VarlinkReply(parameters: ["kind": .string("pipe")]))) ?? [], descriptor: read)
    }

    func recordRejected(_ error: HVError, from peer: Peer) {
        rejected.add(1, ordering: .relaxed)
    }
}

struct UploadReply: Decodable {
    var content: String
}

/// Runs `body` (blocking client code, on its own thread) against the upload socket's server with
/// `handler`, then shuts the server down.
func withUploadServer(
    _ handler: ReadingHandler, configure: (inout DescriptorServerConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (String) throws -> Void
) async throws {
    try await withDescriptorServer(handler, configure: configure) { path in
        try await onThread { try body(path) }
    }
}

func temporaryFile(contents: String) throws -> String {
    let path = temporaryDirectory() + "/file"
    try contents.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A descriptor of the given kind that is not a readable regular file (of a pipe or socket pair,
/// one end; the other is closed).
func openDescriptor(_ kind: String) throws -> Descriptor {
    let file = try temporaryFile(contents: "data")
    switch kind {
    case "pipe", "socket":
        var pair: [Int32] = [0, 0]
        let created = kind == "pipe"
            ? pipe(&pair)
            : socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair)
        guard created == 0 else { throw SetupError("\(kind): \(String(cString: strerror(errno)))") }
        close(pair[1])
        return Descriptor(pair[0], name: "a \(kind)")
    case "directory":
        return try Descriptor.open((file as NSString).deletingLastPathComponent, O_RDONLY)
    case "write-only":
        return try Descriptor.open(file, O_WRONLY)
    default:
        // O_PATH (010000000 on Linux): a reference to the file that cannot be read.
        return try Descriptor.open(file, 0o10000000)
    }
}

/// A listening socket bound at `path`, as systemd would pass it.
func listeningSocket(_ path: String) throws -> Int32 {
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard bound == 0, chmod(path, 0o666) == 0, listen(descriptor, 16) == 0 else {
        throw SetupError("listen on \(path): \(String(cString: strerror(errno)))")
    }
    return descriptor
}
