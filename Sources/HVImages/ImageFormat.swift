import Glibc
import HVSystem

/// The disk image formats the broker accepts; always stated, never guessed.
public enum ImageFormat: String, Codable, Sendable, Hashable, CaseIterable {
    case raw
    case qcow2
}

/// Recognizes disk image formats by their magic bytes, to catch an image declared `raw` that is
/// really something else (which anything probing the format later would open as that format).
public enum FormatSignature {
    /// How many leading bytes `detect` needs.
    public static let headerLength = 512

    /// The format whose signature starts `header`, such as "qcow2" or "vmdk", or nil for none.
    public static func detect(_ header: some Collection<UInt8>) -> String? {
        let bytes = Array(header.prefix(headerLength))
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + magic.count && Array(bytes[offset..<offset + magic.count]) == magic
        }
        if starts([0x51, 0x46, 0x49, 0xFB]) {
            // "QFI\xfb" then a big-endian version: 1 is the old qcow, 2 and 3 are qcow2.
            return bytes.count >= 8 && bytes[7] == 1 && bytes[4...6].allSatisfy { $0 == 0 } ? "qcow" : "qcow2"
        }
        for (magic, offset, format) in signatures where starts(magic, at: offset) {
            return format
        }
        return nil
    }

    /// The format whose signature starts the file at `path` (not following a symlink), or nil.
    public static func detect(path: String) throws(ImageError) -> String? {
        var header = [UInt8](repeating: 0, count: headerLength)
        let count = try io {
            let file = try Descriptor.open(path, O_RDONLY | O_NOFOLLOW)
            return try file.read(into: &header, at: 0)
        }
        return detect(header[0..<count])
    }

    private static let signatures: [(magic: [UInt8], offset: Int, format: String)] = [
        (Array("QED\0".utf8), 0, "qed"),
        (Array("KDMV".utf8), 0, "vmdk"),
        (Array("# Disk DescriptorFile".utf8), 0, "vmdk"),
        (Array("COWD".utf8), 0, "vmdk"),
        ([0x7F, 0x10, 0xDA, 0xBE], 0x40, "vdi"),
        (Array("vhdxfile".utf8), 0, "vhdx"),
        (Array("conectix".utf8), 0, "vpc"),
        (Array("LUKS".utf8) + [0xBA, 0xBE], 0, "luks"),
        (Array("WithoutFreeSpace".utf8), 0, "parallels"),
        (Array("WithouFreSpacExt".utf8), 0, "parallels"),
        (Array("Bochs Virtual HD Image".utf8), 0, "bochs"),
    ]
}
