/// One way to break a rule every YAML file here is read under (`YAMLReader` in `Sources/HVYAML`),
/// applied to a valid file of any kind, with what the refusal must say. The tests of each kind of
/// file (spec, host policy, monitor and alerting configuration) run all of them on a file of
/// their own.
public struct YAMLRuleBreak: Sendable, CustomStringConvertible {
    public let rule: String
    /// Words the error's message must contain.
    public let problem: String
    /// The line the message must name, counted in the lines added to the valid file; nil when the
    /// problem is the file as a whole.
    private let line: Int?
    private let breaking: @Sendable (String) -> String

    public var description: String { rule }

    /// `valid`, a file of one kind that reads without error and ends with a newline, broken.
    public func text(breaking valid: String) -> String { breaking(valid) }

    /// What `message`, the refusal of `text(breaking: valid)`, fails to say: the problem, and the
    /// line when the problem has one. Empty when it says both.
    public func unsaid(in message: String, valid: String) -> [String] {
        let place = line.map { "line \(valid.count { $0 == "\n" } + $0)," }
        return [problem, place].compactMap { $0 }.filter { !message.contains($0) }
    }

    public static let all: [YAMLRuleBreak] = [
        YAMLRuleBreak(rule: "an anchor", problem: "uses a YAML anchor or alias", line: 1) {
            $0 + "x-shared: &shared 1\nx-again: *shared\n"
        },
        YAMLRuleBreak(rule: "an alias", problem: "uses a YAML anchor or alias", line: 1) { $0 + "x-again: *shared\n" },
        YAMLRuleBreak(rule: "a duplicate key", problem: "appears twice in the same mapping, first on line 1", line: 1) {
            $0 + $0.prefix { $0 != "\n" } + "\n"
        },
        YAMLRuleBreak(rule: "several documents", problem: "holds several YAML documents", line: 1) { $0 + "---\n" + $0 },
        YAMLRuleBreak(rule: "deep nesting", problem: "is nested more than 8 levels deep", line: 1) {
            $0 + "x-deep: " + String(repeating: "[", count: 8) + "1" + String(repeating: "]", count: 8) + "\n"
        },
        YAMLRuleBreak(rule: "a key that is a list", problem: "has a key that is a list or a mapping", line: 1) {
            $0 + "[a, b]: 1\n"
        },
        YAMLRuleBreak(rule: "a large file", problem: "at most 256 KiB", line: nil) {
            $0 + "# " + String(repeating: "x", count: 256 << 10) + "\n"
        },
        YAMLRuleBreak(rule: "broken syntax", problem: "is not valid YAML", line: 1) { $0 + "x-broken: a: b\n" },
    ]
}
