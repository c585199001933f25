import Foundation

/// A size in bytes, written the way people write them: `20GiB`, `512MiB`, `1.5TiB`, `4096`.
///
/// Binary units only (KiB, MiB, GiB, TiB; `K`, `M`, `G`, `T` and `KB`… are read as the binary unit
/// too, since that is what disk and memory sizes mean here). Encodes as the largest unit that
/// divides it exactly, so `2048MiB` is written back as `2GiB` and a round trip is stable.
public struct ByteSize: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }

    public static func kibibytes(_ value: UInt64) -> ByteSize { ByteSize(bytes: value << 10) }
    public static func mebibytes(_ value: UInt64) -> ByteSize { ByteSize(bytes: value << 20) }
    public static func gibibytes(_ value: UInt64) -> ByteSize { ByteSize(bytes: value << 30) }
    public static func tebibytes(_ value: UInt64) -> ByteSize { ByteSize(bytes: value << 40) }

    static let units: [(suffix: String, shift: UInt64)] = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)]

    /// Parses `text`; nil when it is not a size. Negative numbers, overflow and unknown units are
    /// not sizes.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces).lowercased()
        guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1 else { return nil }
        let shift: UInt64
        switch unit {
        case "", "b": shift = 0
        case "k", "kb", "kib": shift = 10
        case "m", "mb", "mib": shift = 20
        case "g", "gb", "gib": shift = 30
        case "t", "tb", "tib": shift = 40
        default: return nil
        }
        if let whole = UInt64(number) {
            guard whole <= (UInt64.max >> shift) else { return nil }
            bytes = whole << shift
        } else if let fraction = Double(number), fraction.isFinite, fraction >= 0 {
            let value = (fraction * Double(UInt64(1) << shift)).rounded()
            guard value < 9.2e18 else { return nil }
            bytes = UInt64(value)
        } else {
            return nil
        }
    }

    /// The canonical text: the largest binary unit that divides the size exactly.
    public var description: String {
        for (suffix, shift) in Self.units where bytes != 0 && bytes % (UInt64(1) << shift) == 0 {
            return "\(bytes >> shift)\(suffix)"
        }
        return "\(bytes)"
    }

    /// A rounded, human reading such as `1.5 GiB`, for tables and messages.
    public var readable: String {
        for (suffix, shift) in Self.units where bytes >= (UInt64(1) << shift) {
            let value = Double(bytes) / Double(UInt64(1) << shift)
            let text = value == value.rounded() ? String(Int(value)) : String(format1: value)
            return "\(text) \(suffix)"
        }
        return "\(bytes) B"
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(UInt64.self) {
            bytes = number
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = ByteSize(parsing: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not a size; write it like 512MiB, 20GiB or 1TiB"
            )
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension String {
    /// One decimal place, without Foundation.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
