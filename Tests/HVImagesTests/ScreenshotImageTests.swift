import Foundation
import HVImages
import HVTestSupport
import Testing

/// Screenshots: QEMU's pixmap read, and PNG written so that other decoders read the same pixels.
@Suite struct ScreenshotImageTests {
    /// A 3x2 image: red, green, blue; then white, black, a grey.
    static let pixels: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128]

    @Test func aPixmapIsReadWithCommentsInItsHeader() throws {
        let file = Array("P6\n# written by QEMU\n3 2\n255\n".utf8) + Self.pixels
        let image = try Pixmap(ppm: file)
        #expect(image == Pixmap(width: 3, height: 2, pixels: Self.pixels))
    }

    @Test func sixteenBitSamplesAreScaledToEight() throws {
        let samples: [UInt8] = Self.pixels.flatMap { [$0, 0] }
        let image = try Pixmap(ppm: Array("P6 3 2 65535\n".utf8) + samples)
        // 0xFF00 of 0xFFFF is 254 of 255.
        #expect(image.pixels == Self.pixels.map { UInt8(Int($0) * 256 * 255 / 65_535) })
    }

    @Test(arguments: [
        ("P5\n3 2\n255\n", "does not start with P6"), ("P6\n3 2\n", "header is incomplete"),
        ("P6\n3 99999\n255\n", "claims 3x99999"), ("P6\n3 2\n255\n\u{0}\u{0}", "not the 18 its header says"),
    ])
    func aBrokenPixmapIsRefused(header: String, reason: String) {
        do {
            _ = try Pixmap(ppm: Array(header.utf8))
            Issue.record("accepted \(header.debugDescription)")
        } catch {
            #expect(error.code == .unreadableImage)
            #expect(error.reason.contains(reason), "\(error.reason)")
        }
    }

    /// The signature, then IHDR, IDAT and IEND, each with the CRC-32 of its type and data
    /// (computed here bit by bit, not with the zlib the encoder uses).
    @Test func pngChunksAreWellFormed() throws {
        let png = try PNG.encode(Pixmap(width: 3, height: 2, pixels: Self.pixels))
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var offset = 8
        var types: [String] = []
        while offset < png.count {
            let length = Int(word(png, offset))
            let typeAndData = Array(png[(offset + 4)..<(offset + 8 + length)])
            types.append(String(decoding: typeAndData.prefix(4), as: UTF8.self))
            #expect(word(png, offset + 8 + length) == crc32(typeAndData), "CRC of \(types.last ?? "")")
            if types.last == "IHDR" { #expect(Array(typeAndData.dropFirst(4)) == [0, 0, 0, 3, 0, 0, 0, 2, 8, 2, 0, 0, 0]) }
            offset += 12 + length
        }
        #expect(types == ["IHDR", "IDAT", "IEND"])
        #expect(offset == png.count)
        let size = try #require(PNG.dimensions(of: png))
        #expect(size.width == 3 && size.height == 2)
    }

    /// Python's zlib inflates the image data, and undoing each row's filter gives the pixels back.
    @Test func anotherDecoderReadsThePixelsBack() throws {
        var pixels: [UInt8] = []
        for row in 0..<40 { for column in 0..<50 { pixels += [UInt8(row * 6), UInt8(column * 5), UInt8((row + column) % 256)] } }
        let directory = try TemporaryDirectory("hv-png")
        let file = try directory.write("shot.png", try PNG.encode(Pixmap(width: 50, height: 40, pixels: pixels)))
        let output = try run(["python3", "-c", Self.decoder, file])
        #expect(output.status == 0, "\(output)")
        #expect(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == pixels.map(String.init).joined(separator: ","))
    }

    /// Reads the chunks, inflates IDAT and reverses the None, Sub and Up filters of 8-bit RGB rows.
    static let decoder = """
        import struct, sys, zlib
        data = open(sys.argv[1], "rb").read()
        assert data[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        pos, idat = 8, b""
        while pos < len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + length]
            assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
            if kind == b"IHDR":
                width, height, depth, colour = struct.unpack(">IIBB", body[:10])
                assert (depth, colour) == (8, 2)
            if kind == b"IDAT":
                idat += body
            pos += 12 + length
        raw, stride, out, previous = zlib.decompress(idat), width * 3, [], [0] * width * 3
        for row in range(height):
            kind, line = raw[row * (stride + 1)], list(raw[row * (stride + 1) + 1:(row + 1) * (stride + 1)])
            for i in range(stride):
                left = line[i - 3] if i >= 3 else 0
                line[i] = (line[i] + {0: 0, 1: left, 2: previous[i]}[kind]) % 256
            out += line
            previous = line
        print(",".join(map(str, out)))
        """

    func word(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        bytes[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
