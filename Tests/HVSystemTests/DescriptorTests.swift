import Glibc
import HVSystem
import Testing

@Suite struct DescriptorTests {
    /// Letting go of the owner closes the descriptor: the pipe's reader sees end of file.
    @Test func theOwnerClosesItWhenItGoesAway() throws {
        var pipe: (read: Descriptor, write: Descriptor)? = try Descriptor.pipe()
        let reader = pipe!.read
        var writer = pipe?.write
        pipe = nil
        var buffer = [UInt8](repeating: 0, count: 16)
        try writer?.writeAll([1, 2, 3])
        #expect(try reader.read(into: &buffer) == 3)
        writer = nil
        #expect(try reader.read(into: &buffer) == 0)
    }

    /// A second `close()`, and the owner going away after it, close nothing: not even a new
    /// descriptor that was given the same number meanwhile.
    @Test func itIsClosedExactlyOnce() throws {
        var reused: [Descriptor] = []
        var attempts = 0
        // The kernel hands out the lowest free number; another test's thread may take it first.
        while reused.isEmpty && attempts < 20 {
            attempts += 1
            var descriptor: Descriptor? = try Descriptor.open("/dev/null", O_RDONLY)
            let number = descriptor?.raw ?? -1
            descriptor?.close()
            #expect(descriptor?.raw == -1)
            let (reader, writer) = try Descriptor.pipe()
            guard reader.raw == number || writer.raw == number else { continue }
            descriptor?.close()
            descriptor = nil
            try writer.writeAll([42])
            var byte: [UInt8] = [0]
            #expect(try reader.read(into: &byte) == 1 && byte == [42], "the pipe that took number \(number) still works")
            reused = [reader, writer]
        }
        #expect(!reused.isEmpty, "no descriptor reused the closed number in \(attempts) attempts")
    }

    /// `take()` hands the number on: the object no longer closes it.
    @Test func takeDisarmsTheClose() throws {
        let raw: Int32
        do {
            let descriptor = try Descriptor.open("/dev/null", O_RDONLY)
            raw = descriptor.take()
            #expect(descriptor.raw == -1)
            #expect(descriptor.take() == -1)
            descriptor.close()
        }
        #expect(fcntl(raw, F_GETFD) >= 0, "the taken descriptor is still open")
        #expect(close(raw) == 0)
    }

    @Test func everyDescriptorItOpensIsCloseOnExec() throws {
        let file = try Descriptor.open("/dev/null", O_RDONLY)
        let (reader, writer) = try Descriptor.pipe()
        let socket = try Descriptor.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), name: "a test socket")
        for descriptor in [file, reader, writer, socket] {
            #expect(fcntl(descriptor.raw, F_GETFD) & FD_CLOEXEC != 0, "\(descriptor)")
        }
    }

    /// Errors name what was being done and carry errno and its text.
    @Test func errorsCarryTheErrnoAndItsText() throws {
        let missing = #expect(throws: SystemError.self) { try Descriptor.open("/nonexistent/hv-system-test", O_RDONLY) }
        #expect(missing?.code == ENOENT)
        #expect(missing?.description == "cannot open /nonexistent/hv-system-test: No such file or directory")

        let directory = #expect(throws: SystemError.self) { try Descriptor.open("/", O_WRONLY) }
        #expect(directory?.code == EISDIR)
        #expect(directory?.description == "cannot open /: Is a directory")

        let (reader, writer) = try Descriptor.pipe()
        try reader.setNonBlocking()
        var buffer = [UInt8](repeating: 0, count: 4)
        let empty = #expect(throws: SystemError.self) { try reader.read(into: &buffer) }
        #expect(empty?.code == EAGAIN)
        #expect(empty?.description == "cannot read a pipe: \(String(cString: strerror(EAGAIN)))")

        // A pipe has nothing to flush to disk.
        let unflushable = #expect(throws: SystemError.self) { try writer.syncData() }
        #expect(unflushable?.code == EINVAL)
        #expect(unflushable?.description == "cannot flush a pipe to disk: \(String(cString: strerror(EINVAL)))")
    }

    @Test func readsAndWritesAtAnOffset() throws {
        let (file, path) = try temporaryFile()
        defer { unlink(path) }
        try file.writeAll(Array("hello world".utf8), at: 0)
        try file.writeAll(Array("W".utf8), at: 6)
        var buffer = [UInt8](repeating: 0, count: 5)
        let count = try file.read(into: &buffer, at: 6)
        #expect(String(decoding: buffer[..<count], as: UTF8.self) == "World")
        try file.truncate(to: 5)
        #expect(try file.status().st_size == 5)
        try file.sync()
        try file.syncData()
    }

    /// Data and holes are found from an offset; past the last data there is none, and the end of
    /// the file is a hole. (The temporary directory's file system tracks holes: ext4, tmpfs.)
    @Test func findsDataAndHoles() throws {
        let (file, path) = try temporaryFile()
        defer { unlink(path) }
        try file.writeAll([UInt8](repeating: 7, count: 4096), at: 1 << 20)
        try file.truncate(to: 4 << 20)
        #expect(try file.nextData(from: 0) == 1 << 20)
        #expect(try file.nextHole(from: 1 << 20) == (1 << 20) + 4096)
        #expect(try file.nextData(from: (1 << 20) + 4096) == nil)
        #expect(try file.nextHole(from: 3 << 20) == 3 << 20)
        #expect(try file.seek(to: 0, SEEK_CUR) == 3 << 20, "the offset moved to what was found")
        let pipe = try Descriptor.pipe()
        #expect(throws: SystemError.self) { try pipe.read.nextData(from: 0) }
    }

    /// A directory is flushed by its path; a path that is not a directory fails with its errno.
    @Test func flushesADirectory() throws {
        let (file, path) = try temporaryFile()
        defer { unlink(path) }
        try Descriptor.syncDirectory("/tmp")
        let notDirectory = #expect(throws: SystemError.self) { try Descriptor.syncDirectory(path) }
        #expect(notDirectory?.code == ENOTDIR)
        #expect(notDirectory?.description == "cannot open directory \(path): Not a directory")
        let missing = #expect(throws: SystemError.self) { try Descriptor.syncDirectory("/nonexistent/hv-system-test") }
        #expect(missing?.code == ENOENT)
        withExtendedLifetime(file) {}
    }

    private func temporaryFile() throws -> (Descriptor, String) {
        var template = Array("/tmp/hv-system-test.XXXXXX".utf8CString)
        let raw = mkstemp(&template)
        guard raw >= 0 else { throw SystemError("create a temporary file") }
        let path = String(cString: template)
        return (Descriptor(raw, name: path), path)
    }
}

@Suite struct SystemCallTests {
    /// A call interrupted by a signal is made again; other failures are thrown with their errno.
    @Test func interruptedCallsAreRetried() throws {
        var calls = 0
        let result = try systemCall("do something") { () -> Int32 in
            calls += 1
            if calls < 3 {
                errno = EINTR
                return -1
            }
            return 7
        }
        #expect(result == 7)
        #expect(calls == 3)

        let error = #expect(throws: SystemError.self) {
            try systemCall("do something") { () -> Int32 in
                errno = EACCES
                return -1
            }
        }
        #expect(error == SystemError("do something", code: EACCES))
        #expect(error?.description == "cannot do something: Permission denied")
    }
}
