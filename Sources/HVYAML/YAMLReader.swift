import Foundation
import Yams

/// The one way YAML files are read here: machine specs, the host policy, and the monitor's and
/// alerting's configuration.
///
/// The rules, the same for every file: at most `maximumSize` bytes; one document; no anchors or
/// aliases (a few lines of them can expand into gigabytes); no key twice in one mapping, and keys
/// that are text; at most `maximumDepth` levels of nesting. A file that breaks one is refused
/// before any of it is turned into values, with an error naming the line and column and, where
/// there is one, the key path.
public enum YAMLReader {
    /// Larger files are refused unparsed; the largest real file of any kind is a few KiB.
    public static let maximumSize = 256 << 10
    /// Values nested deeper are refused; the deepest setting of any kind is five levels down
    /// (`alerting.rules[0].labels.pool` in the monitor's configuration).
    public static let maximumDepth = 8

    /// The root of the one document in `text`, or nil when there is none (an empty file, or only
    /// comments). `name` is what messages call the text, usually its file's name.
    public static func root(_ text: String, name: String) throws(YAMLError) -> Node? {
        do throws(YAMLError) {
            guard text.utf8.count <= maximumSize else {
                throw YAMLError(
                    .tooLarge, "is more than \(maximumSize >> 10) KiB; files may be at most \(maximumSize >> 10) KiB",
                    fix: "keep only what the file needs; no real file comes near this size"
                )
            }
            try YAMLRules.check(Array(text.utf8), maximumDepth: maximumDepth)
        } catch {
            var named = error
            named.file = name
            throw named
        }
        do {
            return try Yams.compose(yaml: text)
        } catch {
            // The rules above already parsed the text; only a failure of Yams itself reaches here.
            throw YAMLError(.invalidSyntax, "is not valid YAML: \(error)", fix: "correct the YAML at the place shown", file: name)
        }
    }

    /// The root of the one document in the file at `path`, of which no more than one byte past
    /// `maximumSize` is read; nil when there is none.
    public static func root(contentsOfFile path: String) throws(YAMLError) -> Node? {
        let data: Data
        do {
            let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? file.close() }
            data = try file.read(upToCount: maximumSize + 1) ?? Data()
        } catch {
            throw YAMLError(
                .unreadable, "cannot be read: \(error.localizedDescription)", fix: "check the path, and that this user may read the file",
                file: path
            )
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw YAMLError(.invalidSyntax, "is not UTF-8 text", fix: "save the file as UTF-8", file: path)
        }
        return try root(text, name: path)
    }
}
