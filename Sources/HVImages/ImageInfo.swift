import Foundation

/// What `qemu-img info` reports about an image, plus the format its first bytes reveal.
public struct ImageInfo: Sendable, Hashable {
    /// The file that was probed.
    public var path: String
    /// The format the image was declared as (and probed with).
    public var declaredFormat: ImageFormat
    /// The format qemu-img reports (with an explicit `-f` it echoes the declared format).
    public var format: String
    /// The size the guest sees, in bytes.
    public var virtualSize: UInt64
    /// The space the file takes on the host, in bytes, when qemu-img knows it.
    public var actualSize: UInt64?
    /// The backing file as written in the image header, if any.
    public var backingFilename: String?
    /// The backing file resolved against the image's directory, if any.
    public var fullBackingFilename: String?
    /// A qcow2 image's external data file, if any.
    public var dataFile: String?
    /// The format recognized from the file's magic bytes (`FormatSignature`), if any.
    public var detectedFormat: String?

    public init(
        path: String, declaredFormat: ImageFormat, format: String, virtualSize: UInt64, actualSize: UInt64? = nil,
        backingFilename: String? = nil, fullBackingFilename: String? = nil, dataFile: String? = nil,
        detectedFormat: String? = nil
    ) {
        self.path = path
        self.declaredFormat = declaredFormat
        self.format = format
        self.virtualSize = virtualSize
        self.actualSize = actualSize
        self.backingFilename = backingFilename
        self.fullBackingFilename = fullBackingFilename
        self.dataFile = dataFile
        self.detectedFormat = detectedFormat
    }

    /// Parses the output of `qemu-img info --output=json` for a single image.
    public init(qemuImgJSON json: [UInt8], path: String, declaredFormat: ImageFormat) throws(ImageError) {
        let report: Report
        do {
            report = try JSONDecoder().decode(Report.self, from: Data(json))
        } catch {
            throw ImageError(.toolFailed, "qemu-img info printed a report that cannot be read: \(error)")
        }
        self.init(
            path: path, declaredFormat: declaredFormat, format: report.format, virtualSize: report.virtualSize,
            actualSize: report.actualSize, backingFilename: report.backingFilename,
            fullBackingFilename: report.fullBackingFilename, dataFile: report.formatSpecific?.data?.dataFile
        )
    }

    /// The fields of qemu-img's JSON report the broker looks at.
    private struct Report: Decodable {
        var format: String
        var virtualSize: UInt64
        var actualSize: UInt64?
        var backingFilename: String?
        var fullBackingFilename: String?
        var formatSpecific: FormatSpecific?

        enum CodingKeys: String, CodingKey {
            case format
            case virtualSize = "virtual-size"
            case actualSize = "actual-size"
            case backingFilename = "backing-filename"
            case fullBackingFilename = "full-backing-filename"
            case formatSpecific = "format-specific"
        }

        struct FormatSpecific: Decodable {
            var data: SpecificData?
        }

        struct SpecificData: Decodable {
            var dataFile: String?
            enum CodingKeys: String, CodingKey { case dataFile = "data-file" }
        }
    }
}
