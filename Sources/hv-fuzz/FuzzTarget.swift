import Foundation

/// One parser of untrusted input, driven by arbitrary bytes. A target returns normally for every
/// input: the parsers throw typed errors for what they refuse. A trap, a broken invariant (stopped
/// with `fatalError`), a hang or a leak is a bug the fuzzer reports.
enum FuzzTarget: String, CaseIterable, Sendable {
    /// `MessageFramer`, fed the stream in chunks, checked against a plain split on NUL.
    case framer
    /// One message as the broker's dispatcher reads it: a `VarlinkCall`, then `Request`.
    case varlink
    /// A spec file as `hv vm apply` reads it, YAML; what it accepts must export and read back.
    case specYAML = "spec-yaml"
    /// The same for a `.json` spec file.
    case specJSON = "spec-json"
    /// The host policy as the broker reads it at start.
    case policy

    /// The environment variable that chooses the target.
    static let variable = "HV_FUZZ_TARGET"

    /// The target `HV_FUZZ_TARGET` names; nil when it is unset or names none.
    static var chosen: FuzzTarget? {
        ProcessInfo.processInfo.environment[variable].flatMap(FuzzTarget.init(rawValue:))
    }

    static var usage: String {
        "set \(variable) to one of: \(allCases.map(\.rawValue).joined(separator: ", "))"
    }

    func run(_ input: [UInt8]) {
        switch self {
        case .framer: FramerTarget.run(input)
        case .varlink: VarlinkTarget.run(input)
        case .specYAML: SpecTarget.run(input, name: "spec.yaml")
        case .specJSON: SpecTarget.run(input, name: "spec.json")
        case .policy: PolicyTarget.run(input)
        }
    }
}
