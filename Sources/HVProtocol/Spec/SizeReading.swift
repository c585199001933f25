import Foundation

/// Reads a size from a spec value, saying precisely what is wrong with negative, fractional or
/// enormous values instead of "not a size".
enum SizeReading {
    static func read(_ value: JSONValue, path: String) throws(HVError) -> ByteSize {
        switch value {
        case .int(let number):
            guard number >= 0 else { throw negative("\(number)", path: path) }
            return ByteSize(bytes: UInt64(number))
        case .double(let number):
            guard number >= 0 else { throw negative("\(number)", path: path) }
            guard number.isFinite, number < 1.8e19 else { throw tooLarge("\(number)", path: path) }
            guard number == number.rounded() else {
                throw .invalidSpec(
                    path, "\(number) is not a whole number of bytes", fix: "write a size with a unit, such as '\(example(path))'"
                )
            }
            return ByteSize(bytes: UInt64(number))
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("-") { throw negative(text, path: path) }
            if let size = ByteSize(parsing: trimmed) { return size }
            if looksLikeSize(trimmed) { throw tooLarge(text, path: path) }
            throw .invalidSpec(
                path, "'\(VmName.printable(text))' is not a size",
                fix: "write a number with a unit (KiB, MiB, GiB or TiB), such as '\(example(path))'"
            )
        default:
            throw .invalidSpec(
                path, "must be a size such as 20GiB, got \(SpecDecoder.describe(value))",
                fix: "write it like '\(example(path))'"
            )
        }
    }

    private static func negative(_ text: String, path: String) -> HVError {
        .invalidSpec(
            path, "sizes cannot be negative, got '\(VmName.printable(text))'", fix: "write a positive size, such as '\(example(path))'"
        )
    }

    private static func tooLarge(_ text: String, path: String) -> HVError {
        let limits = SpecDecoder.leaf(path) == "memory" ? SpecLimits.memory : SpecLimits.diskSize
        return .invalidSpec(
            path, "'\(VmName.printable(text))' is far too large to be a size",
            fix: "write a size between \(limits.lowerBound.readable) and \(limits.upperBound.readable), such as '\(example(path))'"
        )
    }

    /// Digits, at most one dot, and one of the units `ByteSize` reads: a size that only overflowed.
    private static func looksLikeSize(_ text: String) -> Bool {
        let number = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = text.dropFirst(number.count).trimmingCharacters(in: .whitespaces).lowercased()
        let units: Set = ["", "b", "k", "kb", "kib", "m", "mb", "mib", "g", "gb", "gib", "t", "tb", "tib"]
        return !number.isEmpty && number.filter { $0 == "." }.count <= 1 && units.contains(unit)
    }

    private static func example(_ path: String) -> String {
        SpecDecoder.leaf(path) == "memory" ? "memory: 2GiB" : "\(SpecDecoder.leaf(path)): 20GiB"
    }
}
