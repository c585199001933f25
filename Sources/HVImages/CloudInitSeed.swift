import Foundation
import Glibc
import HVProtocol
import HVSystem
import Yams

/// Builds cloud-init NoCloud seed images: an ISO 9660 image labelled `cidata` holding
/// `user-data`, `meta-data` and optionally `network-config`, from data a client sent.
public struct CloudInitSeed: Sendable {
    /// The largest user-data, meta-data or network-config accepted, in bytes.
    public static let maximumFileBytes = 1 << 20
    /// The volume label cloud-init's NoCloud source looks for.
    public static let volumeLabel = "cidata"

    public var runner: ProcessRunner
    /// The longest building an image may take.
    public var timeout: Duration

    public init(runner: ProcessRunner = ProcessRunner(), timeout: Duration = .seconds(60)) {
        self.runner = runner
        self.timeout = timeout
    }

    /// Writes a seed image to `path`, replacing any file there atomically.
    ///
    /// - Parameters:
    ///   - metaData: the meta-data document; when nil, one with `instance-id: INSTANCEID` and
    ///     `local-hostname: HOSTNAME` is generated.
    ///   - instanceID: the instance identity (machine-name rules); cloud-init runs its first-boot
    ///     modules again when it changes.
    ///   - hostname: the generated meta-data's hostname; `instanceID` when nil.
    ///   - path: an absolute path in an existing directory; the files are staged in a private
    ///     temporary directory beside it.
    ///   - mode: the permissions of the image (user-data may hold secrets).
    public func build(
        userData: String, metaData: String?, networkConfig: String?, instanceID: String, hostname: String? = nil,
        at path: String, mode: mode_t = 0o600
    ) throws(ImageError) {
        let hostname = hostname ?? instanceID
        do throws(HVError) {
            try VmName.validate(instanceID, field: "instance_id")
            try VmName.validate(hostname, field: "hostname")
        } catch {
            throw ImageError(error, parameter: error.details["field"] ?? "instance_id")
        }
        var files = [("user-data", userData)]
        if let metaData {
            files.append(("meta-data", metaData))
        } else {
            files.append(("meta-data", try Self.generatedMetaData(instanceID: instanceID, hostname: hostname)))
        }
        if let networkConfig { files.append(("network-config", networkConfig)) }
        for (name, text) in files where text.utf8.count > Self.maximumFileBytes {
            throw ImageError(
                .tooLarge, "the cloud-init \(name) is \(text.utf8.count) bytes; the limit is \(Self.maximumFileBytes)",
                parameter: name.replacingOccurrences(of: "-", with: "_")
            )
        }
        guard path.hasPrefix("/"), !path.hasSuffix("/") else {
            throw ImageError(.invalidParameter, "the seed path '\(path)' is not an absolute file path", parameter: "path")
        }
        let staging = try StagingDirectory(beside: path)
        defer { staging.remove() }
        let content = staging.path + "/content"
        guard mkdir(content, 0o700) == 0 else { throw ioError("create \(content)") }
        for (name, text) in files {
            try io {
                let file = try Descriptor.open(content + "/" + name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
                try file.writeAll(Array(text.utf8))
            }
        }
        let image = staging.path + "/seed.iso"
        try makeImage(image, from: content)
        let built = try io { try Descriptor.open(image, O_RDONLY | O_NOFOLLOW) }
        guard fchmod(built.raw, mode) == 0 else { throw ioError("set the mode of \(image)") }
        try io { try built.sync() }
        guard Glibc.rename(image, path) == 0 else { throw ioError("move the seed image to \(path)") }
    }

    /// `instance-id` and `local-hostname` as YAML, quoted by the encoder where needed.
    static func generatedMetaData(instanceID: String, hostname: String) throws(ImageError) -> String {
        struct MetaData: Encodable {
            var instanceID: String
            var localHostname: String
            enum CodingKeys: String, CodingKey {
                case instanceID = "instance-id"
                case localHostname = "local-hostname"
            }
        }
        do {
            return try YAMLEncoder().encode(MetaData(instanceID: instanceID, localHostname: hostname))
        } catch {
            throw ImageError(.ioFailed, "cannot encode the cloud-init meta-data: \(error)")
        }
    }

    /// Builds the ISO with xorriso, or genisoimage when xorriso is absent.
    private func makeImage(_ image: String, from content: String) throws(ImageError) {
        let locator = runner.locator
        let output: ProcessOutput
        if let xorriso = locator.find(.xorriso) {
            output = try runner.run(
                executable: xorriso,
                ["-no_rc", "-as", "mkisofs", "-V", Self.volumeLabel, "-J", "-r", "-o", image, content],
                timeout: timeout
            )
        } else if let genisoimage = locator.find(.genisoimage) {
            output = try runner.run(
                executable: genisoimage, ["-output", image, "-volid", Self.volumeLabel, "-joliet", "-rock", content],
                timeout: timeout
            )
        } else {
            throw locator.missing(.xorriso)
        }
        guard output.succeeded else { throw output.failure("building the cloud-init seed image") }
    }
}

/// A private (mode 0700) temporary directory next to a destination path, so the finished file
/// can be renamed into place on the same file system.
private struct StagingDirectory {
    let path: String

    init(beside destination: String) throws(ImageError) {
        let parent = (destination as NSString).deletingLastPathComponent
        var template = Array((parent + "/.cidata-XXXXXX").utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ioError("create a temporary directory in \(parent)")
        }
        path = String(cString: created)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
