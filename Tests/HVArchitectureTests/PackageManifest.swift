import Foundation

/// The targets of `Package.swift` and what each depends on, read from the manifest's text. The
/// manifest is written one `.target(name:dependencies:)` call per target, which this reads; a
/// target it can't read makes the test fail rather than pass with less.
struct PackageManifest {
    enum Kind: String { case target, executableTarget, testTarget, systemLibrary }

    struct Target {
        var name: String
        var kind: Kind
        /// Targets of this package and products of other packages, by name.
        var dependencies: [String]
    }

    var targets: [String: Target] = [:]

    init(text: String) throws {
        let opening = try Regex(#"\.(target|executableTarget|testTarget|systemLibrary)\(\s*name:\s*"([^"]+)""#)
        let matches = text.matches(of: opening)
        for (index, match) in matches.enumerated() {
            let end = index + 1 < matches.count ? matches[index + 1].range.lowerBound : text.endIndex
            let body = text[match.range.upperBound..<end]
            guard let kindName = match.output[1].substring, let kind = Kind(rawValue: String(kindName)),
                let name = match.output[2].substring.map(String.init)
            else { throw ManifestError("cannot read the target at \(text[match.range])") }
            targets[name] = Target(name: name, kind: kind, dependencies: try Self.dependencies(in: body))
        }
        guard !targets.isEmpty else { throw ManifestError("no targets found in Package.swift") }
    }

    /// The names inside `dependencies: [ … ]`: quoted target names and `.product(name: …)`.
    private static func dependencies(in body: Substring) throws -> [String] {
        guard let start = body.range(of: "dependencies: [") else { return [] }
        var depth = 1
        var index = start.upperBound
        while depth > 0 {
            guard index < body.endIndex else { throw ManifestError("unbalanced dependencies list") }
            if body[index] == "[" { depth += 1 }
            if body[index] == "]" { depth -= 1 }
            index = body.index(after: index)
        }
        var list = body[start.upperBound..<body.index(before: index)]
        var names: [String] = []
        let product = try Regex(#"\.product\(\s*name:\s*"([^"]+)"[^)]*\)"#)
        for match in list.matches(of: product) {
            if let name = match.output[1].substring { names.append(String(name)) }
        }
        list.replace(product, with: "")
        let quoted = try Regex(#""([^"]+)""#)
        for match in list.matches(of: quoted) {
            if let name = match.output[1].substring { names.append(String(name)) }
        }
        return names
    }

    /// Everything `name` links, directly or not, among this package's targets.
    func closure(of name: String) -> Set<String> {
        var seen: Set<String> = []
        var pending = [name]
        while let next = pending.popLast() {
            for dependency in targets[next]?.dependencies ?? [] where targets[dependency] != nil && seen.insert(dependency).inserted {
                pending.append(dependency)
            }
        }
        return seen
    }
}

struct ManifestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
