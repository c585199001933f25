import Foundation
import HVYAML
import Testing
import Yams

/// The rules every YAML file is read under: each refusal's code, key path, line and column.
@Suite struct ReaderTests {
    /// The error reading `text` gives, or nil when it is accepted.
    static func refusal(_ text: String) -> YAMLError? {
        do {
            _ = try YAMLReader.root(text, name: "test.yaml")
            return nil
        } catch {
            return error
        }
    }

    struct Refused: Sendable, CustomTestStringConvertible {
        let yaml: String
        let code: YAMLError.Code
        let path: String
        let line: Int?
        let column: Int?
        var testDescription: String { yaml }
    }

    static let refused: [Refused] = [
        .init(yaml: "a: &x 1\nb: *x\n", code: .anchorOrAlias, path: "a", line: 1, column: 4),
        .init(yaml: "a: 1\nb: *x\n", code: .anchorOrAlias, path: "b", line: 2, column: 4),
        .init(yaml: "list:\n  - &item {a: 1}\n", code: .anchorOrAlias, path: "list[0]", line: 2, column: 5),
        .init(yaml: "&root {a: 1}\n", code: .anchorOrAlias, path: "", line: 1, column: 1),
        .init(yaml: "a: 1\n&k b: 2\n", code: .anchorOrAlias, path: "", line: 2, column: 1),
        .init(yaml: "a:\n  b: 1\n  c: 2\n  b: 3\n", code: .duplicateKey, path: "a.b", line: 4, column: 3),
        // The same key quoted and plain is still the same key.
        .init(yaml: "name: a\n\"name\": b\n", code: .duplicateKey, path: "name", line: 2, column: 1),
        .init(yaml: "rules:\n  - {name: x, name: y}\n", code: .duplicateKey, path: "rules[0].name", line: 2, column: 15),
        .init(yaml: "a: 1\n---\nb: 2\n", code: .severalDocuments, path: "", line: 2, column: 1),
        .init(yaml: "a: 1\n---\n", code: .severalDocuments, path: "", line: 2, column: 1),
        .init(yaml: "a:\n  [x]: 1\n", code: .keyNotText, path: "a", line: 2, column: 3),
        .init(yaml: "? {x: 1}\n: 2\n", code: .keyNotText, path: "", line: 1, column: 3),
        .init(yaml: "a: [1, 2\n", code: .invalidSyntax, path: "", line: 2, column: 1),
        .init(yaml: "a: b: c\n", code: .invalidSyntax, path: "", line: 1, column: 5),
        .init(yaml: "a: 1\nb: \u{7}\n", code: .invalidSyntax, path: "", line: 2, column: 4),
        .init(yaml: "# " + String(repeating: "x", count: YAMLReader.maximumSize), code: .tooLarge, path: "", line: nil, column: nil),
    ]

    @Test(arguments: refused)
    func refusedWithWhereAndWhat(_ case: Refused) throws {
        let error = try #require(Self.refusal(`case`.yaml))
        #expect(error.code == `case`.code, "\(error)")
        #expect(error.path == `case`.path, "\(error)")
        #expect(error.line == `case`.line, "\(error)")
        #expect(error.column == `case`.column, "\(error)")
        #expect(!error.fix.isEmpty)
    }

    @Test func nestingIsRefusedOneLevelPastTheLimit() throws {
        func nested(_ levels: Int) -> String {
            "a: " + String(repeating: "[", count: levels) + "1" + String(repeating: "]", count: levels) + "\n"
        }
        // The root mapping is one level; `a`'s value is inside it.
        #expect(Self.refusal(nested(YAMLReader.maximumDepth - 1)) == nil)
        let error = try #require(Self.refusal(nested(YAMLReader.maximumDepth)))
        #expect(error.code == .tooDeep)
        #expect(error.path == "a" + String(repeating: "[0]", count: YAMLReader.maximumDepth))
        #expect(error.reason == "is nested more than 8 levels deep; no setting is")
        // Far past libyaml's own limit of 1000, which its scanner meets first, looking ahead.
        let far = try #require(Self.refusal(nested(100_000)))
        #expect(far.reason.lowercased().contains("nesting level"), "\(far)")
    }

    @Test func sizeIsCountedInBytesUpToTheLimit() throws {
        let filler = "# " + String(repeating: "x", count: YAMLReader.maximumSize - 8) + "\n"
        let atLimit = "a: 1\n" + filler.prefix(YAMLReader.maximumSize - 5)
        #expect(atLimit.utf8.count == YAMLReader.maximumSize)
        #expect(Self.refusal(atLimit) == nil)
        let over = try #require(Self.refusal(atLimit + "é"))
        #expect(over.code == .tooLarge)
        #expect(over.reason == "is more than 256 KiB; files may be at most 256 KiB")
    }

    /// Nine levels of nine aliases each would be 387 million nodes; as a key, Yams would hash
    /// every one of them while composing. Refused at the first anchor, at once.
    @Test(.timeLimit(.minutes(1))) func aliasBombsAreRefusedBeforeTheyExpand() throws {
        var lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
        for level in 1...9 {
            let previous = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(level - 1)))
            let name = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(level)))
            lines.append("\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]")
        }
        let started = ContinuousClock.now
        let error = try #require(Self.refusal(lines.joined(separator: "\n") + "\n? *j\n: 1\n"))
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(error.code == .anchorOrAlias)
        #expect(error.path == "a")
        #expect(error.line == 1)
    }

    @Test func aValidDocumentIsYamsOwnTree() throws {
        let text = """
            # a comment
            name: web1
            tags: [a, "b"]
            nested: {list: [1, 2.5, true, ~], text: "two words"}
            block: |
              two
              lines
            """
        let root = try #require(try YAMLReader.root(text, name: "test.yaml"))
        #expect(root == (try Yams.compose(yaml: text)))
        #expect(root["name"]?.string == "web1")
        #expect(root["nested"]?["list"]?[1]?.float == 2.5)
        #expect(root["block"]?.string == "two\nlines")
    }

    @Test func nothingToReadIsNil() throws {
        #expect(try YAMLReader.root("", name: "test.yaml") == nil)
        #expect(try YAMLReader.root("# only a comment\n", name: "test.yaml") == nil)
        #expect(try YAMLReader.root("---\na: 1\n", name: "test.yaml") != nil, "one document with its marker")
    }

    @Test func messagesNameTheFileThePathAndThePlace() throws {
        let twice = try #require(Self.refusal("groups:\n  lab: {vms: 1}\n  lab: {vms: 2}\n"))
        #expect(twice.message == "test.yaml: groups.lab: appears twice in the same mapping, first on line 2 (line 3, column 3)")
        #expect(twice.fix == "keep only one 'lab'")
        let documents = try #require(Self.refusal("a: 1\n---\nb: 2\n"))
        #expect(documents.message.hasPrefix("test.yaml: holds several YAML documents"))
        #expect(documents.message.hasSuffix("(line 2, column 1)"))
        let syntax = try #require(Self.refusal("a: [1, 2\n"))
        #expect(syntax.reason.hasPrefix("is not valid YAML: did not find expected ',' or ']'"))
        #expect(syntax.reason.contains("that starts on line 1"))
    }

    @Test func filesAreReadUpToTheLimitUnderTheSameRules() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hvyaml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func file(_ name: String, _ data: Data) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try data.write(to: URL(fileURLWithPath: path))
            return path
        }
        let valid = try file("valid.yaml", Data("name: web1\n".utf8))
        #expect(try YAMLReader.root(contentsOfFile: valid)?["name"]?.string == "web1")
        let aliased = try file("aliased.yaml", Data("a: &x 1\nb: *x\n".utf8))
        let anchor = try #require(throws: YAMLError.self) { try YAMLReader.root(contentsOfFile: aliased) }
        #expect(anchor.code == .anchorOrAlias && anchor.file == aliased)
        let huge = try file("huge.yaml", Data(repeating: UInt8(ascii: "#"), count: 4 * YAMLReader.maximumSize))
        let size = try #require(throws: YAMLError.self) { try YAMLReader.root(contentsOfFile: huge) }
        #expect(size.code == .tooLarge)
        let binary = try file("binary.yaml", Data([0x61, 0x3A, 0x20, 0xFF, 0x0A]))
        #expect(try #require(throws: YAMLError.self) { try YAMLReader.root(contentsOfFile: binary) }.code == .invalidSyntax)
        let missing = try #require(throws: YAMLError.self) { try YAMLReader.root(contentsOfFile: directory.path + "/none.yaml") }
        #expect(missing.code == .unreadable)
        #expect(missing.message.hasPrefix(directory.path + "/none.yaml: cannot be read"))
    }
}
