/// The naming rule every name inside a spec follows: `VmName`'s characters, a length limit, and no
/// path-like values, so that no name can ever point somewhere on the host.
public enum SpecName {
    /// Checks `value` against the rule, naming `field` and what kind of name it is in the error.
    public static func validate(
        _ value: String, field: String, kind: String, maximumLength: Int = VmName.maximumLength, example: String
    ) throws(HVError) {
        let shown = VmName.printable(value)
        if looksLikePath(value) {
            throw .invalidSpec(
                field, "'\(shown)' looks like a path; paths are not accepted, only a plain \(kind) name",
                fix: "write just the name, such as '\(example)'"
            )
        }
        let rule = "use 1 to \(maximumLength) letters, digits, '.', '_' or '-', starting with a letter or digit"
        if value.utf8.count > maximumLength {
            throw .invalidSpec(
                field, "'\(shown)' is too long for a \(kind) name: \(value.utf8.count) characters, the limit is \(maximumLength)",
                fix: "\(rule), such as '\(example)'"
            )
        }
        if let problem = VmName.problem(with: value) {
            throw .invalidSpec(field, "'\(shown)' is not a valid \(kind) name: \(problem)", fix: "\(rule), such as '\(example)'")
        }
    }

    /// True for values that could be read as a file system path.
    public static func looksLikePath(_ value: String) -> Bool {
        value.contains("/") || value.contains("\\") || value.contains("..") || value.hasPrefix("~")
    }
}
