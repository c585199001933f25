import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#endif

/// What a finished download left behind.
public struct DownloadResult: Sendable, Hashable {
    /// The complete file.
    public var path: String
    public var byteCount: UInt64
    /// Lower-case hex SHA-256 of the file.
    public var sha256: String
    /// Bytes an earlier, interrupted run had fetched that this one kept (0 when it started afresh).
    public var resumedFrom: UInt64
    /// Requests made, retries included (redirects not counted).
    public var attempts: Int
}

/// Downloads an installation image over HTTP(S) as the calling user, for `hv iso add`.
///
/// The body streams into `DESTINATION.part` (never all in memory) and is hashed on the way.
/// An interrupted download resumes where it stopped: a retry, or a later run that finds the
/// `.part` file, asks for the rest with `Range`, appends on `206 Partial Content` and starts over
/// on `200`. Connection failures and server errors (5xx) are retried with growing pauses;
/// redirects are followed to http and https URLs only. The file is renamed to `DESTINATION` once
/// complete and, when a SHA-256 was given, only if it matches; on a mismatch nothing is kept.
public enum IsoDownload {
    public struct Options: Sendable {
        public var maximumRedirects = 5
        /// Further attempts after a failed one.
        public var retries = 3
        /// The pause before each retry; the last is repeated if there are more retries.
        public var retryDelays: [Duration] = [.seconds(1), .seconds(2), .seconds(4)]
        public var connectTimeout: Duration = .seconds(15)
        /// How long the server may take to send the response headers.
        public var responseTimeout: Duration = .seconds(60)
        /// How long the body may stall before the attempt counts as failed.
        public var readTimeout: Duration = .seconds(60)

        public init() {}
    }

    /// Downloads `url` to `destination`.
    ///
    /// - Parameters:
    ///   - expectedSHA256: 64 hex digits; when given, a file with another checksum is deleted.
    ///   - progress: called after every chunk with the bytes held so far and the total size when
    ///     the server told it.
    public static func fetch(
        url: String, to destination: String, expectedSHA256: String? = nil, options: Options = Options(),
        progress: (_ received: UInt64, _ total: UInt64?) -> Void = { _, _ in }
    ) async throws(DownloadError) -> DownloadResult {
        let source = try checkURL(url)
        let expected = try expectedSHA256.map(normalizedChecksum)
        let part = try PartialFile(path: destination + ".part")
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(options.connectTimeout), read: TimeAmount(options.readTimeout))
        )
        configuration.decompression = .disabled
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        var attempts = 0
        var failure: DownloadError?
        while true {
            attempts += 1
            do throws(DownloadError) {
                try await transfer(source, into: part, client: client, options: options, progress: progress)
                break
            } catch {
                guard error.isRetryable, attempts <= options.retries else {
                    failure = error
                    break
                }
                let delays = options.retryDelays.isEmpty ? [Duration.zero] : options.retryDelays
                guard (try? await Task.sleep(for: delays[min(attempts - 1, delays.count - 1)])) != nil else {
                    failure = cancelled(part)
                    break
                }
            }
        }
        try? await client.shutdown()
        if let failure { throw failure }

        let sha256 = try part.finish()
        if let expected, sha256 != expected {
            unlink(part.path)
            throw DownloadError(
                .checksumMismatch,
                "the downloaded file's SHA-256 is \(sha256) but \(expected) was expected; nothing was kept",
                fix: "check the checksum published with the image; if the file on the server changed, run the command again"
            )
        }
        guard rename(part.path, destination) == 0 else {
            throw DownloadError(.file, "could not rename \(part.path) to \(destination): \(String(cString: strerror(errno)))")
        }
        return DownloadResult(
            path: destination, byteCount: part.length, sha256: sha256, resumedFrom: part.inherited, attempts: attempts
        )
    }

    /// One attempt: requests the rest of the file (following redirects) and appends the body.
    static func transfer(
        _ source: URL, into part: PartialFile, client: HTTPClient, options: Options,
        progress: (UInt64, UInt64?) -> Void
    ) async throws(DownloadError) {
        var current = source
        var redirects = 0
        while true {
            guard !Task.isCancelled else { throw cancelled(part) }
            var request = HTTPClientRequest(url: current.absoluteString)
            request.headers.add(name: "User-Agent", value: "hv (Hyper-NixOS)")
            if part.length > 0 { request.headers.add(name: "Range", value: "bytes=\(part.length)-") }
            let response: HTTPClientResponse
            do {
                response = try await client.execute(request, timeout: TimeAmount(options.responseTimeout))
            } catch {
                throw Task.isCancelled ? cancelled(part) : connectionError(current, error)
            }
            if [301, 302, 303, 307, 308].contains(Int(response.status.code)) {
                guard redirects < options.maximumRedirects else {
                    throw DownloadError(
                        .tooManyRedirects, "\(source.absoluteString) redirected more than \(options.maximumRedirects) times",
                        fix: "give the final address of the image"
                    )
                }
                guard let location = response.headers.first(name: "Location"),
                      let next = URL(string: location, relativeTo: current)?.absoluteURL
                else {
                    throw DownloadError(.httpStatus, "the server redirected without a valid Location", status: Int(response.status.code))
                }
                current = try checkURL(next.absoluteString, redirectedFrom: current)
                redirects += 1
                continue
            }
            switch try ResumePlan(status: Int(response.status.code), headers: response.headers, have: part.length) {
            case .complete:
                progress(part.length, part.length)
                return
            case .restart(let total):
                try part.truncate()
                try await receive(response.body, into: part, total: total, from: current, progress: progress)
            case .append(let total):
                try await receive(response.body, into: part, total: total, from: current, progress: progress)
            }
            return
        }
    }

    private static func receive(
        _ body: HTTPClientResponse.Body, into part: PartialFile, total: UInt64?, from url: URL,
        progress: (UInt64, UInt64?) -> Void
    ) async throws(DownloadError) {
        progress(part.length, total)
        var chunks = body.makeAsyncIterator()
        while true {
            let chunk: ByteBuffer?
            do {
                chunk = try await chunks.next()
            } catch {
                throw Task.isCancelled ? cancelled(part) : connectionError(url, error)
            }
            guard let chunk else { break }
            try part.append(chunk)
            progress(part.length, total)
        }
        if let total, part.length < total {
            throw DownloadError(.connection, "the connection to \(url.host ?? "the server") ended after \(part.length) of \(total) bytes")
        }
    }

    /// The URL if it is one this downloads: http or https, with a host.
    static func checkURL(_ text: String, redirectedFrom origin: URL? = nil) throws(DownloadError) -> URL {
        let via = origin.map { " (redirected from \($0.absoluteString))" } ?? ""
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased() else {
            throw DownloadError(.unsupportedURL, "'\(text)' is not a URL\(via)", fix: "give an http:// or https:// address")
        }
        guard scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty else {
            throw DownloadError(
                .unsupportedURL, "only http and https URLs are downloaded, not '\(text)'\(via)",
                fix: "give the image's http:// or https:// address"
            )
        }
        return url
    }

    /// The checksum in lower case, if it is 64 hex digits.
    static func normalizedChecksum(_ text: String) throws(DownloadError) -> String {
        let lowered = text.lowercased()
        guard lowered.count == 64, lowered.allSatisfy({ $0.isHexDigit }) else {
            throw DownloadError(
                .invalidChecksum, "'\(text)' is not a SHA-256 checksum (64 hexadecimal digits)",
                fix: "copy the checksum from the SHA256SUMS file published with the image"
            )
        }
        return lowered
    }

    private static func connectionError(_ url: URL, _ error: any Error) -> DownloadError {
        DownloadError(
            .connection, "downloading from \(url.host ?? url.absoluteString) failed: \(error)",
            fix: "check the network and the URL; running the command again resumes the download"
        )
    }

    private static func cancelled(_ part: PartialFile) -> DownloadError {
        DownloadError(
            .cancelled, "the download was stopped after \(part.length) bytes",
            fix: "run the command again to resume it from \(part.path)"
        )
    }
}
