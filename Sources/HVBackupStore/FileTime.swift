import Foundation
import Glibc
import HVSystem

/// A file's modification time as its file system keeps it. The repository compares times the file
/// system stamped (a chunk touched, a writer registered, the collector started) only with each
/// other, so a NAS whose clock differs from the host's is compared with itself.
struct FileTime: Comparable, Hashable, Sendable {
    let seconds: Int
    let nanoseconds: Int

    init(modificationOf info: stat) {
        seconds = info.st_mtim.tv_sec
        nanoseconds = info.st_mtim.tv_nsec
    }

    init(seconds: Int, nanoseconds: Int) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    var date: Date { Date(timeIntervalSince1970: Double(seconds) + Double(nanoseconds) / 1e9) }

    /// This time moved back by `duration`.
    func subtracting(_ duration: Duration) -> FileTime {
        let (wholeSeconds, attoseconds) = duration.components
        var seconds = seconds - Int(wholeSeconds)
        var nanoseconds = nanoseconds - Int(attoseconds / 1_000_000_000)
        if nanoseconds < 0 {
            nanoseconds += 1_000_000_000
            seconds -= 1
        }
        return FileTime(seconds: seconds, nanoseconds: nanoseconds)
    }

    static func < (left: FileTime, right: FileTime) -> Bool {
        (left.seconds, left.nanoseconds) < (right.seconds, right.nanoseconds)
    }

    /// `utimensat`'s markers for "the current time" and "leave it", which Swift's Glibc lacks.
    static let now = timespec(tv_sec: 0, tv_nsec: (1 << 30) - 1)
    static let omit = timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2)
}

extension Descriptor {
    /// Sets the file's modification time to the file system's present time and returns it: the
    /// stamp a writer starts with and the collector compares with.
    func stampNow() throws(SystemError) -> FileTime {
        var times = [FileTime.omit, FileTime.now]
        try systemCall("set the time of \(name)") { futimens(raw, &times) }
        return FileTime(modificationOf: try status())
    }
}
