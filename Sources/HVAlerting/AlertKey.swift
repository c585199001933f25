import Foundation
import HVProtocol

/// Alert keys (`rule{label="v",…}`, labels sorted) and silence matchers in the same syntax.
public enum AlertKey {
    /// The key of `rule`'s alert for `labels`: `host-cpu-high` or `pool-space-low{pool="default"}`.
    public static func make(rule: String, labels: [String: String]) -> String {
        guard !labels.isEmpty else { return rule }
        let pairs = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(escape($0.value))\"" }
        return "\(rule){\(pairs.joined(separator: ","))}"
    }

    static func escape(_ value: String) -> String {
        var result = ""
        for character in value {
            switch character {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            default: result.append(character)
            }
        }
        return result
    }
}

/// A parsed silence matcher: a rule name and label values an alert must carry.
public struct SilenceMatcher: Sendable, Hashable {
    public var rule: String
    public var labels: [String: String]

    /// Parses `rule` or `rule{label="value",…}`; throws `invalidParameter` naming what is wrong.
    public init(parsing text: String) throws {
        func invalid(_ why: String) -> AlertingError {
            AlertingError(
                .invalidParameter, "silence matcher \"\(text)\": \(why)",
                fix: "use a rule name, or a rule name with labels: vm-stopped-unexpectedly{vm=\"web1\"}")
        }
        let characters = Array(text)
        var index = 0
        var rule = ""
        while index < characters.count, characters[index] != "{" {
            rule.append(characters[index])
            index += 1
        }
        guard !rule.isEmpty, rule.count <= 64,
            rule.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" })
        else { throw invalid("the rule name may use only a-z, 0-9 and -") }
        var labels: [String: String] = [:]
        if index < characters.count {
            index += 1
            while true {
                guard index < characters.count else { throw invalid("missing }") }
                if characters[index] == "}" {
                    index += 1
                    break
                }
                var name = ""
                while index < characters.count, characters[index] != "=" {
                    name.append(characters[index])
                    index += 1
                }
                name = name.trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                    throw invalid("a label name may use only letters, digits and _")
                }
                index += 1
                guard index < characters.count, characters[index] == "\"" else { throw invalid("label values need quotes") }
                index += 1
                var value = ""
                var closed = false
                while index < characters.count {
                    let character = characters[index]
                    index += 1
                    if character == "\"" {
                        closed = true
                        break
                    }
                    if character == "\\", index < characters.count {
                        let escaped = characters[index]
                        index += 1
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else {
                        value.append(character)
                    }
                }
                guard closed else { throw invalid("unterminated label value") }
                guard labels[name] == nil else { throw invalid("label \(name) appears twice") }
                labels[name] = value
                if index < characters.count, characters[index] == "," { index += 1 }
            }
            guard index == characters.count else { throw invalid("unexpected text after }") }
        }
        self.rule = rule
        self.labels = labels
    }

    /// Whether an alert of `rule` with `labels` is covered: same rule, and every matcher label present
    /// with the same value.
    public func matches(rule: String, labels: [String: String]) -> Bool {
        rule == self.rule && self.labels.allSatisfy { labels[$0.key] == $0.value }
    }
}

/// The silences in force at one moment, each matcher parsed once.
public struct SilenceCover: Sendable {
    private let matchers: [(matcher: SilenceMatcher, until: Double)]

    /// Those of `silences` that have not ended at `now`; a matcher that does not parse covers nothing.
    public init(_ silences: [AlertSilence], now: Double) {
        matchers = silences.filter { $0.until > now }.compactMap { silence in
            (try? SilenceMatcher(parsing: silence.matcher)).map { ($0, silence.until) }
        }
    }

    /// When the last silence covering an alert of `rule` with `labels` ends; nil when none covers it.
    public func until(rule: String, labels: [String: String]) -> Double? {
        matchers.filter { $0.matcher.matches(rule: rule, labels: labels) }.map(\.until).max()
    }
}

/// Fills `{name}` placeholders from `values` in one pass; substituted text is never looked at again,
/// and unknown placeholders stay as written.
enum SummaryTemplate {
    static func render(_ template: String, _ values: [String: String]) -> String {
        var result = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else {
                rest = rest[open...]
                break
            }
            let name = String(after[..<close])
            if let value = values[name] {
                result += value
            } else {
                result += rest[open...close]
            }
            rest = after[after.index(after: close)...]
        }
        return result + rest
    }

    /// Ratios as whole percentages, other values with at most three decimals.
    static func format(_ value: Double, metric: String) -> String {
        if metric.hasSuffix("_ratio") { return "\(Int((value * 100).rounded()))%" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: "%.3f", value)
    }
}
