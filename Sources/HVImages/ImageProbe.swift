import Glibc

/// Inspects a disk image with `qemu-img info`, always with the format stated, so qemu never
/// guesses (a guessed format is how a raw file holding a qcow2 header gets a backing file).
///
/// qemu-img runs under `prlimit` with bounded address space and CPU time, as OpenStack does, so
/// a crafted header cannot make it exhaust the host's memory.
public struct ImageProbe: Sendable {
    public var runner: ProcessRunner
    /// The longest a probe may take.
    public var timeout: Duration
    /// qemu-img's address-space limit, in bytes.
    public var addressSpaceLimit: UInt64
    /// qemu-img's CPU-time limit, in seconds.
    public var cpuSecondsLimit: Int

    public init(
        runner: ProcessRunner = ProcessRunner(), timeout: Duration = .seconds(60), addressSpaceLimit: UInt64 = 1 << 30,
        cpuSecondsLimit: Int = 30
    ) {
        self.runner = runner
        self.timeout = timeout
        self.addressSpaceLimit = addressSpaceLimit
        self.cpuSecondsLimit = cpuSecondsLimit
    }

    /// Runs `prlimit --as=… --cpu=… -- qemu-img info --output=json -f FORMAT -U PATH` and reads the
    /// image's header.
    ///
    /// `path` must be absolute (so qemu cannot read it as a protocol such as `nbd:`) and name a
    /// regular file or block device, not a symlink. Check the result with `ImagePolicy`.
    public func probe(path: String, format: ImageFormat) throws(ImageError) -> ImageInfo {
        guard path.hasPrefix("/") else {
            throw ImageError(.invalidParameter, "the image path '\(path)' is not absolute", parameter: "path")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { throw ImageError(.notFound, "there is no image at \(path)") }
            throw ioError("inspect \(path)")
        }
        guard info.isRegularFile || (info.st_mode & S_IFMT) == S_IFBLK else {
            throw ImageError(
                .unsafeImage, "\(path) is \(info.kindDescription), not an image file",
                fix: "give the image file itself, not a link to it"
            )
        }
        let limits = ["--as=\(addressSpaceLimit)", "--cpu=\(cpuSecondsLimit)", "--"]
        let qemuImg = try runner.locator.locate(.qemuImg)
        let output = try runner.run(
            .prlimit, limits + [qemuImg, "info", "--output=json", "-f", format.rawValue, "-U", path], timeout: timeout
        )
        guard output.succeeded else {
            throw output.failure(
                "reading \(path) as a \(format.rawValue) image",
                fix: "check that the file really is a \(format.rawValue) image"
            )
        }
        guard !output.stdoutTruncated else {
            throw ImageError(.toolFailed, "qemu-img info printed more than the broker reads for \(path)")
        }
        var image = try ImageInfo(qemuImgJSON: output.stdout, path: path, declaredFormat: format)
        image.detectedFormat = try FormatSignature.detect(path: path)
        return image
    }
}
