import Foundation

/// The shipped polkit files, read the way the policy tests compare them with the code.
public enum PolicyFiles {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    public static func file(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The action ids a `.policy` file declares, in order.
    public static func declaredActions(_ path: String) throws -> [String] {
        try file(path).split(separator: "<action id=\"").dropFirst().map { String($0.prefix(while: { $0 != "\"" })) }
    }

    /// The ids in `var NAME = [ ... ];` of the rules file; nil when the list is missing.
    public static func ruleActions(_ name: String) throws -> Set<String>? {
        let rules = try file("polkit/50-hypernixos.rules")
        guard let start = rules.range(of: "var \(name) = ["),
            let end = rules.range(of: "];", range: start.upperBound..<rules.endIndex)
        else { return nil }
        return Set(rules[start.upperBound..<end.lowerBound].split(separator: "\"").enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) })
    }

    /// Whether the rules grant `action` to `group` and to no less-privileged group, as the error
    /// messages that name the group promise.
    public static func grantsExactly(_ action: String, from group: String) throws -> Bool {
        let viewers = try ruleActions("viewerActions") ?? []
        let operators = try ruleActions("operatorActions") ?? []
        let admins = try ruleActions("adminActions") ?? []
        guard admins.contains(action) else { return false }
        switch group {
        case "hypervisor-viewers": return viewers.contains(action) && operators.contains(action)
        case "hypervisor-operators": return !viewers.contains(action) && operators.contains(action)
        case "hypervisor-admins": return !viewers.contains(action) && !operators.contains(action)
        default: return false
        }
    }
}
