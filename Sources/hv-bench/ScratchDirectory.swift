import Foundation
import Glibc

/// A new directory of the benchmark's own under /tmp (`PREFIX.XXXXXX`), removed when it is done.
struct ScratchDirectory: Sendable {
    let path: String

    init(_ prefix: String) throws(BenchError) {
        var template = Array((prefix + ".XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw BenchError(.measurementFailed, "cannot create a directory in /tmp: \(String(cString: strerror(errno)))")
        }
        path = String(cString: created)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
