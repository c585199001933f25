/// The files of a repository copy, by path inside it, with their sizes: what `rclone lsf -R
/// --files-only --format sp --separator ;` prints, one `SIZE;PATH` per line.
public struct RemoteListing: Sendable, Hashable {
    public var sizes: [String: Int64]

    public init(sizes: [String: Int64] = [:]) {
        self.sizes = sizes
    }

    /// Reads rclone's lines; a line that is not `SIZE;PATH` is an error, so a changed output
    /// format is noticed instead of read as an empty copy.
    public init(parsing text: String) throws(SyncError) {
        var sizes: [String: Int64] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.isEmpty {
            guard let separator = line.firstIndex(of: ";"), let size = Int64(line[..<separator]), size >= 0 else {
                throw SyncError(.transferFailed, "rclone listed '\(line.prefix(120))', not SIZE;PATH", fix: "install the rclone of the distribution (1.60 or later)")
            }
            sizes[String(line[line.index(after: separator)...])] = size
        }
        self.sizes = sizes
    }

    /// Whether the copy holds `path` at `size` bytes.
    public func holds(_ path: String, size: Int64) -> Bool { sizes[path] == size }
}
