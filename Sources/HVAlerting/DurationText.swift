/// Durations in configuration files: a whole number followed by `s`, `m`, `h` or `d` (`30s`, `5m`, `1h`,
/// `7d`), or `0`.
public enum DurationText {
    /// The longest duration a rule or channel may name: one year.
    public static let maximumSeconds: Double = 365 * 86_400

    /// Seconds for `text`, or nil when it is not a duration.
    public static func seconds(_ text: String) -> Double? {
        if text == "0" { return 0 }
        guard let unit = text.last, let multiplier = multipliers[unit] else { return nil }
        let digits = text.dropLast()
        guard !digits.isEmpty, digits.count <= 12, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let count = Double(digits)
        else { return nil }
        return count * multiplier
    }

    /// The shortest text for a whole number of seconds, e.g. `300` → `5m`.
    public static func format(_ seconds: Double) -> String {
        let whole = Int(seconds)
        if whole == 0 { return "0" }
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] where whole % size == 0 {
            return "\(whole / size)\(unit)"
        }
        return "\(whole)s"
    }

    private static let multipliers: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
}
