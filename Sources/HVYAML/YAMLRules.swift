import CYaml

/// `YAMLReader`'s rules, checked in one pass over libyaml's events before Yams builds a tree: an
/// alias is refused where it appears, before anything could expand it (Yams follows aliases while
/// composing, and hashes all an alias points to when it is a key).
///
/// The parser is Yams's own copy of libyaml (its `CYaml` module), the one that then composes the
/// tree.
struct YAMLRules {
    /// A line and column, counted from 1.
    private typealias Position = (line: Int, column: Int)

    /// A list or mapping the events are inside of.
    private struct Collection {
        let path: String
        let isMapping: Bool
        /// Items read so far, in a list.
        var count = 0
        /// Keys read so far, in a mapping, with the line each is on.
        var keys: [String: Int] = [:]
        /// The key whose value comes next; nil while a key is expected.
        var key: String?
    }

    private let maximumDepth: Int
    private var open: [Collection] = []
    private var documents = 0

    private init(maximumDepth: Int) {
        self.maximumDepth = maximumDepth
    }

    static func check(_ bytes: [UInt8], maximumDepth: Int) throws(YAMLError) {
        guard !bytes.isEmpty else { return }
        var rules = YAMLRules(maximumDepth: maximumDepth)
        let result: Result<Void, YAMLError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return .failure(outOfMemory) }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return .failure(syntaxError(parser, in: buffer)) }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return .success(()) }
                do throws(YAMLError) {
                    try rules.accept(event)
                } catch {
                    return .failure(error)
                }
            }
        }
        try result.get()
    }

    private mutating func accept(_ event: yaml_event_t) throws(YAMLError) {
        let at = (line: event.start_mark.line + 1, column: event.start_mark.column + 1)
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            guard documents == 1 else {
                throw YAMLError(
                    .severalDocuments, "holds several YAML documents (separated by '---'); a file may hold only one",
                    fix: "keep one document: remove the '---' line and what follows it, or move each document to a file of its own",
                    line: at.line, column: at.column
                )
            }
        case YAML_ALIAS_EVENT:
            try node(at: at, anchored: true, text: nil)
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            if try node(at: at, anchored: scalar.anchor != nil, text: text) != nil { finishValue() }
        case YAML_SEQUENCE_START_EVENT:
            if let path = try node(at: at, anchored: event.data.sequence_start.anchor != nil, text: nil) {
                open.append(Collection(path: path, isMapping: false))
            }
        case YAML_MAPPING_START_EVENT:
            if let path = try node(at: at, anchored: event.data.mapping_start.anchor != nil, text: nil) {
                open.append(Collection(path: path, isMapping: true))
            }
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            open.removeLast()
            finishValue()
        default:
            break
        }
    }

    /// Checks the node that starts at `at`: a scalar (with its `text`), a list, a mapping or an
    /// alias. Returns its key path, or nil when it was a mapping's key, now recorded.
    @discardableResult
    private mutating func node(at: Position, anchored: Bool, text: String?) throws(YAMLError) -> String? {
        let parent = open.indices.last
        let isKey = parent.map { open[$0].isMapping && open[$0].key == nil } ?? false
        let path: String
        switch parent {
        case nil: path = ""
        case let index? where isKey: path = open[index].path
        case let index? where open[index].isMapping: path = Self.join(open[index].path, open[index].key ?? "")
        case let index?: path = "\(open[index].path)[\(open[index].count)]"
        }
        if anchored {
            throw YAMLError(
                .anchorOrAlias,
                "uses a YAML anchor or alias ('&name', '*name'); anchors and aliases are not accepted: a few lines of them can expand into gigabytes",
                fix: "write the value out in full where it is used", path: path, line: at.line, column: at.column
            )
        }
        if let parent, isKey {
            guard let text else {
                throw YAMLError(
                    .keyNotText, "has a key that is a list or a mapping; keys are plain text",
                    fix: "write keys as plain words, such as 'name:'", path: path, line: at.line, column: at.column
                )
            }
            if let first = open[parent].keys[text] {
                throw YAMLError(
                    .duplicateKey, "appears twice in the same mapping, first on line \(first)",
                    fix: "keep only one '\(text)'", path: Self.join(path, text), line: at.line, column: at.column
                )
            }
            open[parent].keys[text] = at.line
            open[parent].key = text
            return nil
        }
        guard open.count <= maximumDepth else {
            throw YAMLError(
                .tooDeep, "is nested more than \(maximumDepth) levels deep; no setting is",
                fix: "compare the layout with the documented example", path: path, line: at.line, column: at.column
            )
        }
        return path
    }

    /// A value ended: its list moves to the next item, its mapping to the next key.
    private mutating func finishValue() {
        guard let last = open.indices.last else { return }
        open[last].count += 1
        open[last].key = nil
    }

    private static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private static let outOfMemory = YAMLError(.invalidSyntax, "could not be parsed: out of memory", fix: "try again")

    private static func syntaxError(_ parser: yaml_parser_t, in buffer: UnsafeBufferPointer<UInt8>) -> YAMLError {
        guard parser.error != YAML_MEMORY_ERROR else { return outOfMemory }
        var reason = "is not valid YAML: " + (parser.problem.map { String(cString: $0) } ?? "unknown problem")
        if let context = parser.context {
            reason += " (\(String(cString: context)) that starts on line \(parser.context_mark.line + 1))"
        }
        var at = (line: parser.problem_mark.line + 1, column: parser.problem_mark.column + 1)
        if parser.error == YAML_READER_ERROR {
            // The reader counts bytes rather than lines: the input holds something that is not text.
            let before = buffer.prefix(parser.problem_offset)
            let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            at = (line: before.count { $0 == UInt8(ascii: "\n") } + 1, column: before.count - lineStart + 1)
        }
        return YAMLError(.invalidSyntax, reason, fix: "correct the YAML at the line and column shown", line: at.line, column: at.column)
    }
}
