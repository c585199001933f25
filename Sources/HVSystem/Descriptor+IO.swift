import Glibc

/// Reading and writing. Each call retries on EINTR; EAGAIN on a non-blocking descriptor is thrown
/// like any other failure (its `code` tells it apart).
extension Descriptor {
    /// Reads what is there, up to the buffer's size, at the file offset: 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        try systemCall("read \(name)") { Glibc.read(raw, buffer.baseAddress, buffer.count) }
    }

    /// Reads into `buffer` from its start; returns how many bytes arrived, 0 at end of file.
    public func read(into buffer: inout [UInt8]) throws(SystemError) -> Int {
        try systemCall("read \(name)") { buffer.withUnsafeMutableBytes { Glibc.read(raw, $0.baseAddress, $0.count) } }
    }

    /// Reads at `offset` without using or moving the file offset (`pread`): 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int {
        try systemCall("read \(name)") { pread(raw, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// Reads into `buffer` from its start, at `offset` in the file (`pread`); 0 at end of file.
    public func read(into buffer: inout [UInt8], at offset: UInt64) throws(SystemError) -> Int {
        try buffer.withUnsafeMutableBytes { bytes in Result { () throws(SystemError) in try read(into: bytes, at: offset) } }.get()
    }

    /// Writes once at the file offset and returns how much was written, which may be less than
    /// all (for records that must reach the file in one `write(2)`).
    public func write(_ bytes: [UInt8]) throws(SystemError) -> Int {
        try systemCall("write \(name)") { bytes.withUnsafeBytes { Glibc.write(raw, $0.baseAddress, $0.count) } }
    }

    /// Writes all of `bytes` at the file offset.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        try writeAll(bytes.count) { done in Glibc.write(raw, bytes.baseAddress! + done, bytes.count - done) }
    }

    /// Writes all of `bytes` at the file offset.
    public func writeAll(_ bytes: [UInt8]) throws(SystemError) {
        try bytes.withUnsafeBytes { buffer in Result { () throws(SystemError) in try writeAll(buffer) } }.get()
    }

    /// Writes all of `bytes` at `offset`, without using or moving the file offset (`pwrite`).
    public func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) {
        try writeAll(bytes.count) { done in
            pwrite(raw, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
        }
    }

    /// Writes all of `bytes` at `offset`, without using or moving the file offset (`pwrite`).
    public func writeAll(_ bytes: [UInt8], at offset: UInt64) throws(SystemError) {
        try bytes.withUnsafeBytes { buffer in Result { () throws(SystemError) in try writeAll(buffer, at: offset) } }.get()
    }

    /// Sends all of `bytes` on a socket. A peer that has gone fails with EPIPE instead of raising
    /// SIGPIPE (MSG_NOSIGNAL).
    public func sendAll(_ bytes: [UInt8]) throws(SystemError) {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(SystemError) in
                try writeAll(buffer.count) { done in
                    Glibc.send(raw, buffer.baseAddress! + done, buffer.count - done, Int32(MSG_NOSIGNAL))
                }
            }
        }.get()
    }

    /// Calls `write` with how much is done until `count` bytes are; `write` returns how many more
    /// it wrote, or -1 with errno set.
    private func writeAll(_ count: Int, _ write: (Int) -> Int) throws(SystemError) {
        var done = 0
        while done < count {
            let written = try systemCall("write \(name)") { write(done) }
            // write(2) takes something of a non-empty buffer or fails; never loop on nothing.
            guard written > 0 else { throw SystemError("write \(name)", code: EIO) }
            done += written
        }
    }
}
