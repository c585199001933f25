/// A YAML file broke one of `YAMLReader`'s rules: what was wrong, where, and how to fix it.
public struct YAMLError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The file could not be opened or read.
        public static let unreadable = Code(rawValue: "Unreadable")
        /// Larger than `YAMLReader.maximumSize`; refused before it is parsed.
        public static let tooLarge = Code(rawValue: "TooLarge")
        /// Not UTF-8 text, or not YAML at all: libyaml's own complaint.
        public static let invalidSyntax = Code(rawValue: "InvalidSyntax")
        /// An anchor (`&name`) or an alias (`*name`).
        public static let anchorOrAlias = Code(rawValue: "AnchorOrAlias")
        /// More than one document (`---`).
        public static let severalDocuments = Code(rawValue: "SeveralDocuments")
        /// Nested deeper than `YAMLReader.maximumDepth`.
        public static let tooDeep = Code(rawValue: "TooDeep")
        /// A list or a mapping used as a mapping's key.
        public static let keyNotText = Code(rawValue: "KeyNotText")
        /// The same key twice in one mapping.
        public static let duplicateKey = Code(rawValue: "DuplicateKey")
    }

    public var code: Code
    /// What was wrong, said of the value at `path` (or of the file when `path` is empty).
    public var reason: String
    public var fix: String
    /// The file's path, or the name the text read goes by in messages (`web1.yaml`).
    public var file: String
    /// The key path of the value at fault (`groups.lab`, `disks[1].name`); empty for the file.
    public var path: String
    /// Where the problem is, counted from 1; nil when it is the file as a whole.
    public var line: Int?
    public var column: Int?

    public init(
        _ code: Code, _ reason: String, fix: String, file: String = "", path: String = "", line: Int? = nil, column: Int? = nil
    ) {
        self.code = code
        self.reason = reason
        self.fix = fix
        self.file = file
        self.path = path
        self.line = line
        self.column = column
    }

    /// The reason followed by the line and column: `appears twice in the same mapping (line 7, column 3)`.
    public var located: String {
        guard let line, let column else { return reason }
        return "\(reason) (line \(line), column \(column))"
    }

    /// The problem as one line:
    /// `policy.yaml: groups.lab: appears twice in the same mapping, first on line 5 (line 7, column 3)`.
    public var message: String {
        path.isEmpty ? "\(file): \(located)" : "\(file): \(path): \(located)"
    }

    public var description: String { "\(message)\nfix: \(fix)" }
}
