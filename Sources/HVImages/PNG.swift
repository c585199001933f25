import CZlib

/// PNG files, written with zlib: the signature, one `IHDR` (8-bit RGB, not interlaced), one
/// `IDAT` with every row deflated, and `IEND`, each chunk with its CRC-32.
public enum PNG {
    /// The eight bytes every PNG file starts with.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The image as a PNG file. Each row is filtered with `Sub` (a pixel minus the one to its
    /// left), which shrinks flat areas and gradients before deflating.
    public static func encode(_ image: Pixmap) throws(ImageError) -> [UInt8] {
        let rowBytes = image.width * 3
        guard image.width > 0, image.height > 0, image.pixels.count == rowBytes * image.height else {
            throw ImageError(
                .invalidParameter,
                "a \(image.width)x\(image.height) image needs \(rowBytes * image.height) bytes of pixels, not \(image.pixels.count)"
            )
        }
        var filtered = [UInt8](repeating: 0, count: (rowBytes + 1) * image.height)
        image.pixels.withUnsafeBufferPointer { pixels in
            filtered.withUnsafeMutableBufferPointer { rows in
                for row in 0..<image.height {
                    let source = row * rowBytes
                    let target = row * (rowBytes + 1)
                    rows[target] = 1
                    for column in 0..<rowBytes {
                        let left = column >= 3 ? pixels[source + column - 3] : 0
                        rows[target + 1 + column] = pixels[source + column] &- left
                    }
                }
            }
        }
        var header: [UInt8] = []
        header += bigEndian(UInt32(image.width))
        header += bigEndian(UInt32(image.height))
        // Bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
        header += [8, 2, 0, 0, 0]
        var file = signature
        file += chunk("IHDR", header)
        file += chunk("IDAT", try deflated(filtered))
        file += chunk("IEND", [])
        return file
    }

    /// The width and height an `IHDR` right after the signature states; nil when `bytes` does not
    /// start like a PNG file.
    public static func dimensions(of bytes: [UInt8]) -> (width: Int, height: Int)? {
        guard bytes.count >= 24, Array(bytes[0..<8]) == signature, Array(bytes[12..<16]) == Array("IHDR".utf8) else { return nil }
        func word(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (word(16), word(20))
    }

    /// One chunk: length, type, data, and the CRC-32 of type and data.
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        let crc = body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        return bigEndian(UInt32(data.count)) + body + bigEndian(UInt32(crc))
    }

    /// `bytes` as one zlib stream (`compress2`, level 6).
    static func deflated(_ bytes: [UInt8]) throws(ImageError) -> [UInt8] {
        var length = compressBound(uLong(bytes.count))
        var output = [UInt8](repeating: 0, count: Int(length))
        let status = output.withUnsafeMutableBufferPointer { target in
            bytes.withUnsafeBufferPointer { source in
                compress2(target.baseAddress, &length, source.baseAddress, uLong(source.count), 6)
            }
        }
        guard status == Z_OK else { throw ImageError(.ioFailed, "zlib could not compress the image (status \(status))") }
        return Array(output.prefix(Int(length)))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
