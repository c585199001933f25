/// Ethernet addresses as specs write them: `52:54:00:12:34:56`.
public enum MacAddress {
    /// Checks the form and that the address is a usable unicast address; case does not matter.
    public static func validate(_ text: String, field: String) throws(HVError) {
        if let problem = problem(with: text) {
            throw .invalidSpec(
                field, "'\(VmName.printable(text))' is not a usable MAC address: \(problem)",
                fix: "write six pairs of hex digits separated by ':', such as '52:54:00:12:34:56' "
                    + "(52:54:00 is QEMU's prefix), or leave mac out and one is chosen"
            )
        }
    }

    /// The canonical, lower-case spelling.
    public static func normalized(_ text: String) -> String { text.lowercased() }

    static func problem(with text: String) -> String? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.utf8.count == 2 }) else {
            return "it must be six pairs of hex digits separated by ':'"
        }
        let octets = parts.compactMap { UInt8($0, radix: 16) }
        guard octets.count == 6, parts.allSatisfy({ $0.utf8.allSatisfy(isHexDigit) }) else {
            return "it may contain only hex digits 0-9 and a-f between the ':'"
        }
        if octets.allSatisfy({ $0 == 0 }) { return "the all-zero address is not an interface address" }
        if octets[0] & 1 == 1 { return "it is a multicast address (the first octet is odd); a NIC needs a unicast one" }
        return nil
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }
}
