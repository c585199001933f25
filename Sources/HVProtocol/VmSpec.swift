/// The minimal declarative description of a new virtual machine.
///
/// Every field is checked by `validate()` before the broker asks polkit or touches libvirt; none of
/// them ever becomes a host path. The ISO is chosen by name from the broker's own ISO directory.
public struct VmSpec: Codable, Sendable, Hashable {
    public var name: String
    public var vcpus: Int
    public var memoryMiB: Int
    public var diskGiB: Int
    public var iso: String?

    public init(name: String, vcpus: Int, memoryMiB: Int, diskGiB: Int, iso: String? = nil) {
        self.name = name
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.diskGiB = diskGiB
        self.iso = iso
    }

    public static let vcpuRange = 1...64
    public static let memoryMiBRange = 64...(1024 * 1024)
    public static let diskGiBRange = 1...16 * 1024

    /// Checks every field; the first problem found is thrown, naming its field.
    public func validate() throws(HVError) {
        try VmName.validate(name, field: "name")
        try Self.check(vcpus, in: Self.vcpuRange, field: "vcpus", shown: String.init)
        try Self.check(memoryMiB, in: Self.memoryMiBRange, field: "memoryMiB") { Self.readable($0, shift: 20, unit: "MiB") }
        try Self.check(diskGiB, in: Self.diskGiBRange, field: "diskGiB") { Self.readable($0, shift: 30, unit: "GiB") }
        if let iso { try IsoName.validate(iso, field: "iso") }
    }

    private static func check(
        _ value: Int, in range: ClosedRange<Int>, field: String, shown: (Int) -> String
    ) throws(HVError) {
        guard range.contains(value) else {
            throw .invalidSpec(
                field, "must be between \(shown(range.lowerBound)) and \(shown(range.upperBound)), got \(shown(value))",
                fix: "choose a value in that range"
            )
        }
    }

    /// `count` units of `1 << shift` bytes as people read sizes: 16384 GiB is `16 TiB`. A count too
    /// large for bytes to hold stays in its own unit.
    static func readable(_ count: Int, shift: Int, unit: String) -> String {
        guard count >= 0, UInt64(count) <= UInt64.max >> UInt64(shift) else { return "\(count) \(unit)" }
        return ByteSize(bytes: UInt64(count) << UInt64(shift)).readable
    }
}

/// Virtual machine names: `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`.
public enum VmName {
    public static let maximumLength = 64

    public static func validate(_ name: String, field: String = "name") throws(HVError) {
        try validate(name, field: field, kind: "machine")
    }

    /// The same rule for the other objects named like machines (snapshots, pools, networks,
    /// groups); `kind` is what the error calls the name, so a bad snapshot name is not called a
    /// bad machine name.
    public static func validate(_ name: String, field: String, kind: String) throws(HVError) {
        if let problem = problem(with: name) {
            throw .invalidSpec(
                field, "'\(printable(name))' is not a valid \(kind) name: \(problem)",
                fix: "use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        }
    }

    static func problem(with name: String) -> String? {
        let bytes = Array(name.utf8)
        guard let first = bytes.first else { return "it is empty" }
        guard bytes.count <= maximumLength else { return "it is \(bytes.count) characters long, the limit is 64" }
        guard isAlphanumeric(first) else { return "it must start with a letter or digit" }
        if let bad = bytes.first(where: { !isAlphanumeric($0) && $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "_") && $0 != UInt8(ascii: "-") }) {
            return "the character \(describe(bad)) is not allowed"
        }
        return nil
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    static func describe(_ byte: UInt8) -> String {
        (0x21..<0x7f).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "0x" + String(byte, radix: 16)
    }

    /// The name with control characters made visible, for error messages.
    public static func printable(_ name: String) -> String {
        let clipped = name.unicodeScalars.prefix(80).map { scalar in
            scalar.properties.generalCategory == .control ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
        }.joined()
        return name.unicodeScalars.count > 80 ? clipped + "…" : clipped
    }
}

/// ISO image names in the broker's library: a machine-name-like stem ending in `.iso`.
public enum IsoName {
    public static func validate(_ name: String, field: String = "iso") throws(HVError) {
        let stem = name.hasSuffix(".iso") ? String(name.dropLast(4)) : nil
        guard let stem, VmName.problem(with: stem) == nil else {
            throw .invalidSpec(
                field, "'\(VmName.printable(name))' is not an ISO name from the library",
                fix: "give the file name of an image in the broker's ISO directory, such as 'debian-12.iso' (no paths)"
            )
        }
    }
}
