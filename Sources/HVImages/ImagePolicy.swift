import HVProtocol

/// What an image must satisfy before the broker uses it (libvirt's guidance for images from
/// untrusted sources): no backing file, no external data file, the declared format, a bounded size.
public struct ImagePolicy: Sendable, Hashable {
    /// The largest virtual size accepted, in bytes.
    public var maximumVirtualSize: UInt64

    public init(maximumVirtualSize: UInt64) {
        self.maximumVirtualSize = maximumVirtualSize
    }

    /// Refuses an image that could read other host files or is not what it was declared to be.
    public func checkImported(_ image: ImageInfo) throws(ImageError) {
        let fix = "convert it to a self-contained image first, e.g. 'qemu-img convert -O qcow2 IN OUT', and import that"
        if let backing = image.fullBackingFilename ?? image.backingFilename {
            throw ImageError(
                .unsafeImage,
                "\(image.path) has the backing file '\(backing)'; a backing file lets an image read other files "
                    + "on the host, so the broker does not accept it",
                fix: fix, parameter: "image"
            )
        }
        if let dataFile = image.dataFile {
            throw ImageError(
                .unsafeImage,
                "\(image.path) keeps its data in the external file '\(dataFile)'; an external data file lets an "
                    + "image read or write other files on the host, so the broker does not accept it",
                fix: fix, parameter: "image"
            )
        }
        if image.format != image.declaredFormat.rawValue {
            throw ImageError(
                .unsafeImage,
                "\(image.path) was declared \(image.declaredFormat.rawValue) but qemu-img reports \(image.format)",
                fix: "declare the image's real format", parameter: "image"
            )
        }
        if let detected = image.detectedFormat, detected != image.declaredFormat.rawValue {
            throw ImageError(
                .unsafeImage,
                "the file \(image.path) is a \(detected) image but was declared \(image.declaredFormat.rawValue)",
                fix: "declare it as \(detected) if the broker accepts that format, or convert it with qemu-img convert",
                parameter: "image"
            )
        }
        if image.virtualSize > maximumVirtualSize {
            throw ImageError(
                .tooLarge,
                "\(image.path) has a virtual size of \(ByteSize(bytes: image.virtualSize).readable); "
                    + "the limit is \(ByteSize(bytes: maximumVirtualSize).readable)",
                fix: "use a smaller image, or ask the administrator to raise the limit", parameter: "image"
            )
        }
    }
}
