import Foundation
import HVProtocol

/// Reads the end of a machine's serial console log.
enum ConsoleLog {
    static func tail(path: String, maxBytes: Int) throws -> VmConsoleReply {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return VmConsoleReply(text: "", truncated: false)
        }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        let start = size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0
        try handle.seek(toOffset: start)
        let data = try handle.read(upToCount: maxBytes) ?? Data()
        return VmConsoleReply(text: String(decoding: data, as: UTF8.self), truncated: start > 0)
    }
}
