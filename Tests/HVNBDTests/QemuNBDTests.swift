import Foundation
import HVNBD
import HVTestSupport
import Testing

enum Installed {
    static let qemuNBD: String? = ["/usr/bin/qemu-nbd", "/usr/local/bin/qemu-nbd"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
}

/// libnbd against a real qemu-nbd serving files the tests make: qemu-nbd started through socket
/// activation, and listening on a socket of its own.
@Suite(.enabled(if: Installed.qemuNBD != nil, "qemu-nbd is not installed (apt-get install qemu-utils)"))
struct QemuNBDTests {
    static var qemuNBD: String? { Installed.qemuNBD }

    static let mebibyte = 1 << 20

    /// A sparse raw image: 1 MiB of a pattern, a hole, 64 KiB of another pattern at 5 MiB, a hole to
    /// the end at 9 MiB + 12 KiB, so the size is no multiple of a chunk.
    static func makeSparseImage(in directory: TemporaryDirectory) throws -> (path: String, bytes: [UInt8]) {
        let size = 9 * mebibyte + 12 * 1024
        var bytes = [UInt8](repeating: 0, count: size)
        for index in 0..<mebibyte { bytes[index] = UInt8(truncatingIfNeeded: index &* 7 &+ index >> 12) }
        for index in 5 * mebibyte..<(5 * mebibyte + 65536) { bytes[index] = 0xA5 }
        let path = directory.file("disk.raw")
        let descriptor = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        #expect(ftruncate(descriptor, off_t(size)) == 0)
        for range in [0..<mebibyte, 5 * mebibyte..<(5 * mebibyte + 65536)] {
            let written = bytes[range].withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(range.lowerBound)) }
            #expect(written == range.count)
        }
        return (path, bytes)
    }

    static func serve(_ path: String, format: ServerCommand.ImageFormat = .raw, bitmap: String? = nil, contexts: [MetaContext] = [.allocation])
        throws -> NBDClient
    {
        try NBDClient.start(
            try ServerCommand.qemuNBD(program: qemuNBD!, image: path, format: format, cache: .writeback, bitmap: bitmap),
            metaContexts: contexts
        )
    }

    static func readAll(_ client: NBDClient, requestSize: Int, inFlight: Int) throws -> [UInt8] {
        let size = Int(try client.size())
        return try [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            try read(client, into: UnsafeMutableRawBufferPointer(buffer), at: 0, requestSize: requestSize, inFlight: inFlight)
            count = size
        }
    }

    /// Reads `buffer.count` bytes at `offset` through a `ReadPipeline`, in reads of `requestSize`
    /// bytes, `inFlight` of them sent ahead and retired in order.
    static func read(
        _ client: NBDClient, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, requestSize: Int, inFlight: Int
    ) throws {
        let pipeline = ReadPipeline(client: client)
        defer { pipeline.drain() }
        let reads = stride(from: 0, to: buffer.count, by: requestSize).map { $0..<min($0 + requestSize, buffer.count) }
        var sent = 0
        for _ in reads {
            while sent < reads.count, pipeline.readsInFlight < inFlight {
                try pipeline.send(into: UnsafeMutableRawBufferPointer(rebasing: buffer[reads[sent]]), at: offset + UInt64(reads[sent].lowerBound))
                sent += 1
            }
            try pipeline.retireOldest()
        }
        #expect(pipeline.readsInFlight == 0)
    }

    @Test(arguments: [(4 << 20, 1), (1 << 20, 4), (3 * 4096, 8)])
    func readsTheImageAsWritten(requestSize: Int, inFlight: Int) throws {
        let directory = try TemporaryDirectory("hv-nbd")
        defer { directory.remove() }
        let (path, bytes) = try Self.makeSparseImage(in: directory)
        let client = try Self.serve(path)
        #expect(try client.size() == UInt64(bytes.count))
        #expect(try Self.readAll(client, requestSize: requestSize, inFlight: inFlight) == bytes)
    }

    /// Started through env, qemu-nbd itself (env exec'd it: same process, so it owns the socket)
    /// serves the image and runs with the malloc settings in its environment.
    @Test func startedThroughEnvItRunsWithTheMallocSettings() throws {
        let env = try #require(["/usr/bin/env", "/bin/env"].first { FileManager.default.isExecutableFile(atPath: $0) })
        let directory = try TemporaryDirectory("hv-nbd")
        defer { directory.remove() }
        let (path, bytes) = try Self.makeSparseImage(in: directory)
        let command = try ServerCommand.qemuNBD(program: Self.qemuNBD!, image: path, format: .raw, cache: .writeback, env: env)
        let client = try NBDClient.start(command, metaContexts: [.allocation])
        #expect(try Self.readAll(client, requestSize: 4 << 20, inFlight: 2) == bytes)
        let server = try #require(Self.childServing(path))
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(server)/exe")
        #expect(executable.hasSuffix("/qemu-nbd"))
        // glibc, reading the tunables at start, writes a NUL over each ':' between them in place.
        let environment = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(server)/environ")).map { $0 == 0 ? UInt8(ascii: ":") : $0 }
        #expect(String(decoding: environment, as: UTF8.self).contains(":GLIBC_TUNABLES=" + ServerCommand.mallocTunables + ":"))
        client.shutdown()
    }

    /// A child of this process whose arguments end with `image`.
    static func childServing(_ image: String) -> Int32? {
        let me = getpid()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[1]) == me,
                let arguments = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")).split(separator: 0),
                arguments.last.map({ String(decoding: $0, as: UTF8.self) }) == image
            else { continue }
            return pid
        }
        return nil
    }

    @Test func readsARangeInTheMiddle() throws {
        let directory = try TemporaryDirectory("hv-nbd")
        defer { directory.remove() }
        let (path, bytes) = try Self.makeSparseImage(in: directory)
        let client = try Self.serve(path)
        var part = [UInt8](repeating: 0xFF, count: 70_000)
        try part.withUnsafeMutableBytes { try Self.read(client, into: $0, at: UInt64(5 * Self.mebibyte - 3), requestSize: 4096, inFlight: 3) }
        #expect(part == Array(bytes[(5 * Self.mebibyte - 3)..<(5 * Self.mebibyte - 3 + 70_000)]))
    }

    /// Reads retire in the order they were sent, each whole. A read that can't be sent (past the
    /// end of the export) gives every read up: nothing is left in flight, so the buffers may go,
    /// and the connection still serves.
    @Test func readsRetireInOrderAndAReadThatCantBeSentDrainsThePipeline() throws {
        let directory = try TemporaryDirectory("hv-nbd")
        defer { directory.remove() }
        let (path, bytes) = try Self.makeSparseImage(in: directory)
        let client = try Self.serve(path)
        let pipeline = ReadPipeline(client: client)
        let buffers = (0..<3).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 4096) }
        defer { buffers.forEach { $0.deallocate() } }
        let offsets = [5 * Self.mebibyte - 4096, 0, bytes.count - 65536]
        for (buffer, offset) in zip(buffers, offsets) { try pipeline.send(into: buffer, at: UInt64(offset)) }
        #expect(pipeline.readsInFlight == 3)
        for (buffer, offset) in zip(buffers, offsets) {
            try pipeline.retireOldest()
            #expect(Array(buffer) == Array(bytes[offset..<(offset + 65536)]))
        }
        #expect(pipeline.readsInFlight == 0)
        #expect(throws: NBDError.self) { try pipeline.retireOldest() }

        try pipeline.send(into: buffers[0], at: 0)
        #expect(throws: NBDError.self) { try pipeline.send(into: buffers[1], at: UInt64(bytes.count)) }
        #expect(pipeline.readsInFlight == 0)
        #expect(throws: NBDError.self) { try pipeline.retireOldest() }
        // The connection still serves.
        #expect(try Self.readAll(client, requestSize: 1 << 20, inFlight: 2) == bytes)
    }

    /// A read larger than the server takes in one request goes out as several, and is retired
    /// whole, before the read sent after it.
    @Test func aReadLargerThanTheServerTakesIsSplitAndRetiredWhole() throws {
        let directory = try TemporaryDirectory("hv-nbd")
        defer { directory.remove() }
        let path = directory.file("large.raw")
        let size = 40 * Self.mebibyte
        let tail = [UInt8]((0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        let descriptor = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        #expect(descriptor >= 0)
        #expect(ftruncate(descriptor, off_t(size)) == 0)
        #expect(tail.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(size - tail.count)) } == tail.count)
        close(descriptor)
        let client = try Self.serve(path)
        #expect(client.maximumRequestSize() < size, "qemu-nbd takes at most 32 MiB a request")
        let pipeline = ReadPipeline(client: client)
        let whole = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 4096)
        let again = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
        defer {
            pipeline.drain()
            whole.deallocate()
            again.deallocate()
        }
        whole.initializeMemory(as: UInt8.self, repeating: 0xFF)
        try pipeline.send(into: whole, at: 0)
        try pipeline.send(into: again, at: 0)
        #expect(pipeline.readsInFlight == 2)
        try pipeline.retireOldest()
        #expect(pipeline.readsInFlight == 1)
        #expect(whole[0..<(size - tail.count)].allSatisfy { $0 == 0 })
        #expect(Array(whole[(size - tail.count)...]) == tail)
        try pipeline.retireOldest()
        #expect(pipeline.readsInFlight == 0)
    }

    /// The written ranges are data, the rest holes that read as zeros, and together the extents
    /// describe the image exactly once.
    @Test func allocationShowsDataAndHoles() throws {
        let directory = try TemporaryDirectory("hv-nbd")
        defer { directory.remove() }
        let (path, bytes) = try Self.makeSparseImage(in: directory)
        let client = try Self.serve(path)
        var extents: [Extent] = []
        var cursor: UInt64 = 0
        while cursor < UInt64(bytes.count) {
            let status = try client.blockStatus(offset: cursor, length: UInt64(bytes.count) - cursor)
            extents += status.extents[.allocation] ?? []
            cursor = status.describedEnd(from: cursor)
        }
        #expect(zip(extents, extents.dropFirst()).allSatisfy { $0.end == $1.offset })
        #expect(extents.first?.offset == 0 && extents.last?.end == UInt64(bytes.count))
        func state(at offset: Int) -> Extent.State? { extents.first { $0.offset <= UInt64(offset) && UInt64(offset) < $0.end }?.state }
        #expect(state(at: 0) == .data)
        #expect(state(at: Self.mebibyte - 1) == .data)
        #expect(state(at: 3 * Self.mebibyte) == .hole)
        #expect(state(at: 5 * Self.mebibyte) == .data)
        #expect(state(at: 8 * Self.mebibyte) == .hole)
    }

    /// A persistent bitmap of a qcow2 image, enabled before a write, is dirty exactly where the
    /// write went (at its 64 KiB granularity).
    @Test func dirtyBitmapShowsOnlyTheChangedRange() throws {
        let directory = try TemporaryDirectory("hv-nbd")
        defer { directory.remove() }
        let image = directory.file("disk.qcow2")
        try expectSuccess(run(["qemu-img", "create", "-q", "-f", "qcow2", image, "16M"]))
        try expectSuccess(run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 2M", image]))
        try expectSuccess(run(["qemu-img", "bitmap", "--add", "-g", "65536", image, "since-1"]))
        try expectSuccess(run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x22 6M 100k", image]))
        let client = try Self.serve(image, format: .qcow2, bitmap: "since-1", contexts: [.allocation, .dirtyBitmap("since-1")])
        let status = try client.blockStatus(offset: 0, length: 16 << 20)
        let dirty = (status.extents[.dirtyBitmap("since-1")] ?? []).filter { $0.state == .dirty }
        #expect(dirty == [Extent(offset: 6 << 20, length: 128 << 10, state: .dirty)])
        let allocation = status.extents[.allocation] ?? []
        #expect(allocation.first { $0.offset == 0 }?.state == .data)
    }

    @Test func aContextTheServerDoesNotOfferIsRefused() throws {
        let directory = try TemporaryDirectory("hv-nbd")
        defer { directory.remove() }
        let (path, _) = try Self.makeSparseImage(in: directory)
        let error = #expect(throws: NBDError.self) { try Self.serve(path, contexts: [.allocation, .dirtyBitmap("none")]) }
        #expect(error?.code == .metaContextMissing)
        #expect(error?.reason.contains("qemu:dirty-bitmap:none") == true)
    }

    /// qemu-nbd listening on its own socket with a named export: the name must match.
    @Test func connectsToANamedExportOnAUnixSocket() throws {
        let directory = try TemporaryDirectory("hv-nbd")
        defer { directory.remove() }
        let (path, bytes) = try Self.makeSparseImage(in: directory)
        let socket = directory.file("nbd.sock")
        let server = try Child(
            [Self.qemuNBD!, "--read-only", "--format=raw", "--persistent", "--shared=4", "--export-name=vda", "--socket=\(socket)", path],
            output: directory.file("qemu-nbd.log")
        )
        defer { server.stop() }
        // qemu-nbd binds its socket before it listens: a connection in between is refused, so the
        // socket's file appearing is not enough.
        var connected: NBDClient?
        #expect(waitUntil(10) {
            connected = try? NBDClient.connect(unixSocket: socket, export: "vda", metaContexts: [.allocation])
            return connected != nil
        })
        let client = try #require(connected)
        #expect(try Self.readAll(client, requestSize: 1 << 20, inFlight: 2) == bytes)
        let wrong = #expect(throws: NBDError.self) { try NBDClient.connect(unixSocket: socket, export: "vdb") }
        #expect(wrong?.code == .connectionFailed)
        let missing = #expect(throws: NBDError.self) { try NBDClient.connect(unixSocket: directory.file("none.sock"), export: "vda") }
        #expect(missing?.code == .connectionFailed)
        #expect(missing?.errno == ENOENT)
    }

    @Test(arguments: ["disk.raw", "nbd://host/x", "", "/tmp/a\nb"])
    func refusesPathsThatAreNotAbsoluteFiles(image: String) {
        let error = #expect(throws: NBDError.self) {
            try ServerCommand.qemuNBD(program: "/usr/bin/qemu-nbd", image: image, format: .raw)
        }
        #expect(error?.code == .invalidArgument)
    }

    /// The server's arguments: read-only, the format stated, no shell.
    @Test func qemuNBDIsStartedReadOnlyWithItsFormatStated() throws {
        let command = try ServerCommand.qemuNBD(program: "/usr/bin/qemu-nbd", image: "/var/lib/a b;$(x).qcow2", format: .qcow2)
        #expect(command.arguments == [
            "/usr/bin/qemu-nbd", "--read-only", "--format=qcow2", "--cache=none", "--shared=1", "/var/lib/a b;$(x).qcow2",
        ])
        let throughEnv = try ServerCommand.qemuNBD(program: "/usr/bin/qemu-nbd", image: "/var/lib/x=y.qcow2", format: .raw, env: "/usr/bin/env")
        #expect(throughEnv.arguments == [
            "/usr/bin/env", "GLIBC_TUNABLES=" + ServerCommand.mallocTunables,
            "/usr/bin/qemu-nbd", "--read-only", "--format=raw", "--cache=none", "--shared=1", "/var/lib/x=y.qcow2",
        ])
        #expect(throughEnv.program == "/usr/bin/qemu-nbd")
        // env would take a program path with a "=" for a variable and run the next argument.
        let error = #expect(throws: NBDError.self) {
            try ServerCommand.qemuNBD(program: "/opt/a=b/qemu-nbd", image: "/var/lib/x.qcow2", format: .raw, env: "/usr/bin/env")
        }
        #expect(error?.code == .invalidArgument)
        #expect(throws: NBDError.self) {
            try ServerCommand.qemuNBD(program: "/usr/bin/qemu-nbd", image: "/var/lib/x.qcow2", format: .raw, env: "env")
        }
    }

    private func expectSuccess(_ output: Output) throws {
        guard output.status == 0 else { throw SetupError("\(output)") }
    }
}
