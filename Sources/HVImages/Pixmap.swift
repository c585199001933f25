import HVProtocol

/// An image as rows of RGB pixels, 8 bits a sample, top to bottom: what a screenshot is between
/// the hypervisor's format and PNG.
public struct Pixmap: Sendable, Hashable {
    public var width: Int
    public var height: Int
    /// `width * height * 3` bytes: red, green, blue, row after row.
    public var pixels: [UInt8]

    /// The widest and tallest image read: 16384 pixels either way, 64 MiB of pixels at most.
    public static let maximumSide = 16_384
    public static let maximumBytes = 64 * 1024 * 1024

    public init(width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Reads a binary portable pixmap (`P6`, the format QEMU writes screenshots in): the header's
    /// width, height and maximum sample value (comments allowed), then the samples, which are
    /// scaled to 8 bits when the maximum is not 255 (two bytes a sample above 255).
    public init(ppm bytes: [UInt8]) throws(ImageError) {
        var header = PixmapHeader(bytes)
        guard header.magic() else { throw Self.unreadable("it does not start with P6") }
        guard let width = header.number(), let height = header.number(), let maximum = header.number(),
            header.separator()
        else { throw Self.unreadable("its header is incomplete") }
        guard (1...Self.maximumSide).contains(width), (1...Self.maximumSide).contains(height), (1...65_535).contains(maximum),
            width * height * 3 <= Self.maximumBytes
        else { throw Self.unreadable("it claims \(width)x\(height) pixels with samples up to \(maximum)") }
        let sampleSize = maximum > 255 ? 2 : 1
        let count = width * height * 3
        let start = header.offset
        guard bytes.count - start >= count * sampleSize else {
            throw Self.unreadable("it holds \(bytes.count - start) bytes of pixels, not the \(count * sampleSize) its header says")
        }
        guard maximum != 255 else {
            self.init(width: width, height: height, pixels: Array(bytes[start..<(start + count)]))
            return
        }
        var pixels = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            let sample = sampleSize == 1
                ? Int(bytes[start + index])
                : Int(bytes[start + 2 * index]) << 8 | Int(bytes[start + 2 * index + 1])
            pixels[index] = UInt8(min(sample, maximum) * 255 / maximum)
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    static func unreadable(_ reason: String) -> ImageError {
        ImageError(.unreadableImage, "the hypervisor's screenshot is not a pixmap this broker reads: \(reason)")
    }
}

extension ImageError.Code {
    /// An image the broker was handed (a screenshot) is not in the format it claims.
    public static let unreadableImage = Self("UnreadableImage")
}

/// Reads a netpbm header: tokens separated by white space, comments from `#` to the end of the line.
struct PixmapHeader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func magic() -> Bool {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "6") else { return false }
        offset = 2
        return true
    }

    /// The next decimal number, after white space and comments; nil when something else comes.
    mutating func number() -> Int? {
        skipSpaceAndComments()
        var value = 0
        var digits = 0
        while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]), digits < 6 {
            value = value * 10 + Int(bytes[offset] - UInt8(ascii: "0"))
            offset += 1
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    /// The single white-space byte between the header and the samples.
    mutating func separator() -> Bool {
        guard offset < bytes.count, Self.isSpace(bytes[offset]) else { return false }
        offset += 1
        return true
    }

    private mutating func skipSpaceAndComments() {
        while offset < bytes.count {
            if Self.isSpace(bytes[offset]) {
                offset += 1
            } else if bytes[offset] == UInt8(ascii: "#") {
                while offset < bytes.count, bytes[offset] != UInt8(ascii: "\n") { offset += 1 }
            } else {
                return
            }
        }
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C
    }
}
