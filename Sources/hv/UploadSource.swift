import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol
import HVSystem

/// The options of a command that hands an image to the broker's upload socket.
struct UploadOptions: ParsableArguments {
    @Argument(help: "An http:// or https:// URL of the image, or a file you can read.") var url: String
    @Option(help: "The image's SHA-256, as the publisher lists it.") var sha256: String
    @Option(help: "Where partial downloads are kept (default: $XDG_CACHE_HOME/hv or ~/.cache/hv).") var cacheDir: String?
    @Option(help: "The broker's upload socket (default: $HV_UPLOAD_SOCKET, or upload.sock beside the broker socket).")
    var uploadSocket: String?

    var source: UploadSource { UploadSource(argument: url, cacheDir: cacheDir) }

    func socketPath(_ options: GlobalOptions) -> String { UploadSocket.path(uploadSocket, options) }
}

/// A file for the broker's upload socket, named on the command line: an http(s):// URL the
/// command downloads with the caller's rights (resuming a partial download), or a file the caller
/// can read, opened with the caller's rights. Either way the broker receives only the open file.
struct UploadSource {
    /// The argument as given.
    let argument: String
    /// `--cache-dir`: where partial downloads are kept.
    let cacheDir: String?

    /// Whether the argument names a file rather than a URL to download.
    var isLocalFile: Bool { !(argument.hasPrefix("http://") || argument.hasPrefix("https://")) }

    /// The file name the argument ends in, the default name of what it brings.
    var fileName: String {
        isLocalFile ? (argument as NSString).lastPathComponent : URL(string: argument)?.lastPathComponent ?? ""
    }

    /// The open file, what to record as its source (the URL), and the download to remove once the
    /// broker kept it. A download is checked against `sha256` as it arrives, as `name`.
    func open(name: String, sha256: String) async throws -> (descriptor: Descriptor, source: String?, downloaded: String?) {
        if isLocalFile { return (openLocalFile(), nil, nil) }
        let destination = try cacheDirectory() + "/" + name
        nonisolated(unsafe) let bar = ProgressBar(label: name)
        let download: DownloadResult
        do {
            download = try await IsoDownload.fetch(url: argument, to: destination, expectedSHA256: sha256) { received, total in
                bar.update(received: received, total: total)
            }
            bar.finish()
        } catch {
            bar.finish()
            Runner.fail(error.hvError)
        }
        do {
            return (try Descriptor.open(download.path, O_RDONLY), argument, download.path)
        } catch {
            Runner.fail(HVError(.failed, error.description))
        }
    }

    /// The file named on the command line, opened read-only with the caller's rights.
    func openLocalFile() -> Descriptor {
        let path = argument.hasPrefix("file://") ? String(argument.dropFirst("file://".count)) : argument
        do {
            let descriptor = try Descriptor.open(path, O_RDONLY | O_NONBLOCK)
            guard (try descriptor.status().st_mode & S_IFMT) == S_IFREG else {
                Runner.fail(HVError(
                    .invalidParameter, "'\(path)' is not a regular file", fix: "give the image file itself, or an http(s):// URL to download",
                    details: ["field": "url"]))
            }
            return descriptor
        } catch {
            Runner.fail(HVError(
                .invalidParameter, "\(error)", fix: "give a file you can read, or an http(s):// URL to download", details: ["field": "url"]))
        }
    }

    func cacheDirectory() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let directory = cacheDir ?? environment["XDG_CACHE_HOME"].map { $0 + "/hv" }
            ?? environment["HOME"].map { $0 + "/.cache/hv" } ?? "/var/tmp/hv-\(getuid())"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ValidationError("cannot create the download directory \(directory): \(error.localizedDescription); pass --cache-dir")
        }
        return directory
    }
}
