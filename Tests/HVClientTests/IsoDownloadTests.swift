import Foundation
import HVClient
import HVProtocol
import HVTestSupport
import Testing

/// Downloads from a local HTTP server with Range support: checksums, resume after a dropped
/// connection or an earlier run, redirects, retries and refusals.
@Suite struct IsoDownloadTests {
    static let size = 3 << 20

    @Test func downloadsTheFileAndItsChecksum() async throws {
        let server = try RangeServer()
        let destination = server.scratch + "/out.iso"
        var reports: [(UInt64, UInt64?)] = []
        let result = try await IsoDownload.fetch(
            url: server.url("image.iso"), to: destination, expectedSHA256: server.sha256.uppercased()
        ) { received, total in reports.append((received, total)) }
        #expect(result.sha256 == server.sha256)
        #expect(result.byteCount == UInt64(Self.size))
        #expect(result.resumedFrom == 0)
        #expect(result.attempts == 1)
        #expect(FileManager.default.contents(atPath: destination) == server.content)
        #expect(!FileManager.default.fileExists(atPath: destination + ".part"))
        #expect(reports.last.map { $0.0 == UInt64(Self.size) && $0.1 == UInt64(Self.size) } == true)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.0 <= $1.0 })
    }

    @Test func wrongChecksumKeepsNothing() async throws {
        let server = try RangeServer()
        let destination = server.scratch + "/out.iso"
        let error = await #expect(throws: DownloadError.self) {
            try await IsoDownload.fetch(url: server.url("image.iso"), to: destination, expectedSHA256: String(repeating: "0", count: 64))
        }
        #expect(error?.code == .checksumMismatch)
        #expect(error?.reason.contains(server.sha256) == true)
        #expect(!FileManager.default.fileExists(atPath: destination))
        #expect(!FileManager.default.fileExists(atPath: destination + ".part"))
    }

    @Test func resumesAfterTheConnectionDrops() async throws {
        let server = try RangeServer(["--drop-after", "1000000"])
        let destination = server.scratch + "/out.iso"
        let result = try await IsoDownload.fetch(
            url: server.url("image.iso"), to: destination, expectedSHA256: server.sha256, options: .quick
        )
        #expect(result.attempts == 2)
        #expect(result.sha256 == server.sha256)
        #expect(FileManager.default.contents(atPath: destination) == server.content)
        // The retry asks only for what is missing: from the first byte the client had not yet
        // written when the connection dropped (the kernel may discard what was in flight).
        let requests = server.requests()
        #expect(requests.count == 2)
        #expect(requests.first == "GET /image.iso range=-")
        let resumedAt = requests.last.flatMap { Int($0.dropFirst("GET /image.iso range=bytes=".count).dropLast()) }
        #expect(resumedAt.map { (1...1_000_000).contains($0) } == true, "second request: \(requests.last ?? "none")")
    }

    @Test func resumesWhatAnEarlierRunLeft() async throws {
        let server = try RangeServer()
        let destination = server.scratch + "/out.iso"
        FileManager.default.createFile(atPath: destination + ".part", contents: server.content.prefix(5000))
        let result = try await IsoDownload.fetch(url: server.url("image.iso"), to: destination, expectedSHA256: server.sha256)
        #expect(result.resumedFrom == 5000)
        #expect(result.sha256 == server.sha256)
        #expect(server.requests() == ["GET /image.iso range=bytes=5000-"])
    }

    /// A server that ignores Range sends the whole file: the partial file is replaced, not appended to.
    @Test func startsOverWhenTheServerIgnoresRange() async throws {
        let server = try RangeServer()
        let destination = server.scratch + "/out.iso"
        FileManager.default.createFile(atPath: destination + ".part", contents: Data(repeating: 0xAA, count: 5000))
        let result = try await IsoDownload.fetch(url: server.url("norange/image.iso"), to: destination, expectedSHA256: server.sha256)
        #expect(result.resumedFrom == 0)
        #expect(result.sha256 == server.sha256)
        #expect(FileManager.default.contents(atPath: destination) == server.content)
    }

    @Test func partialFileThatIsAlreadyCompleteIsKept() async throws {
        let server = try RangeServer()
        let destination = server.scratch + "/out.iso"
        FileManager.default.createFile(atPath: destination + ".part", contents: server.content)
        let result = try await IsoDownload.fetch(url: server.url("image.iso"), to: destination, expectedSHA256: server.sha256)
        #expect(result.resumedFrom == UInt64(Self.size))
        #expect(FileManager.default.contents(atPath: destination) == server.content)
    }

    @Test func followsRedirectsUpToTheLimit() async throws {
        let server = try RangeServer()
        let result = try await IsoDownload.fetch(url: server.url("redirect/5/image.iso"), to: server.scratch + "/a.iso")
        #expect(result.sha256 == server.sha256)
        let error = await #expect(throws: DownloadError.self) {
            try await IsoDownload.fetch(url: server.url("redirect/6/image.iso"), to: server.scratch + "/b.iso")
        }
        #expect(error?.code == .tooManyRedirects)
    }

    @Test func retriesServerErrors() async throws {
        let server = try RangeServer(["--fail-first", "2"])
        let result = try await IsoDownload.fetch(url: server.url("image.iso"), to: server.scratch + "/out.iso", options: .quick)
        #expect(result.attempts == 3)
        #expect(result.sha256 == server.sha256)
    }

    @Test func missingFileIsNotRetried() async throws {
        let server = try RangeServer()
        let error = await #expect(throws: DownloadError.self) {
            try await IsoDownload.fetch(url: server.url("missing.iso"), to: server.scratch + "/out.iso", options: .quick)
        }
        #expect(error?.code == .httpStatus)
        #expect(error?.status == 404)
        #expect(error?.hvError.code == .notFound)
        #expect(server.requests().count == 1)
    }

    @Test(arguments: ["file:///etc/passwd", "ftp://example.org/x.iso", "http:///nohost.iso", "not a url"])
    func onlyHTTPAndHTTPSAreDownloaded(url: String) async throws {
        let error = await #expect(throws: DownloadError.self) {
            try await IsoDownload.fetch(url: url, to: NSTemporaryDirectory() + "never.iso")
        }
        #expect(error?.code == .unsupportedURL)
        #expect(error?.hvError.code == .invalidParameter)
    }

    @Test func redirectToAnotherSchemeIsRefused() async throws {
        let server = try RangeServer()
        let error = await #expect(throws: DownloadError.self) {
            try await IsoDownload.fetch(url: server.url("elsewhere"), to: server.scratch + "/out.iso")
        }
        #expect(error?.code == .unsupportedURL)
        #expect(error?.reason.contains("redirected from") == true)
    }

    @Test func malformedChecksumIsRefusedBeforeDownloading() async throws {
        let server = try RangeServer()
        let error = await #expect(throws: DownloadError.self) {
            try await IsoDownload.fetch(url: server.url("image.iso"), to: server.scratch + "/out.iso", expectedSHA256: "abc")
        }
        #expect(error?.code == .invalidChecksum)
        #expect(server.requests().isEmpty)
    }

    @Test func unreachableServerFailsAfterRetries() async throws {
        let error = await #expect(throws: DownloadError.self) {
            try await IsoDownload.fetch(url: "http://127.0.0.1:1/image.iso", to: NSTemporaryDirectory() + "unreachable.iso", options: .quick)
        }
        #expect(error?.code == .connection)
    }
}

extension IsoDownload.Options {
    /// Retries without pauses, so tests do not wait.
    static var quick: Self {
        var options = Self()
        options.retryDelays = [.milliseconds(10)]
        return options
    }
}

/// `Tests/Fixtures/range-http-server.py` serving a 3 MiB file `image.iso` from a fresh directory.
final class RangeServer {
    let scratch: String
    let content: Data
    let sha256: String
    private let log: String
    private let port: Int
    private let child: Child

    init(_ arguments: [String] = []) throws {
        scratch = NSTemporaryDirectory() + "hv-download-\(UUID().uuidString.prefix(8))"
        let served = scratch + "/served"
        try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        content = Data((0..<IsoDownloadTests.size).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        })
        try content.write(to: URL(fileURLWithPath: served + "/image.iso"))
        let sum = try run(["sha256sum", served + "/image.iso"])
        sha256 = String(sum.stdout.prefix(64))
        log = scratch + "/server.log"
        let portFile = scratch + "/port"
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/range-http-server.py").path
        child = try Child(["python3", "-u", fixture, served, portFile] + arguments, output: log)
        guard waitUntil(10, { FileManager.default.fileExists(atPath: portFile) }),
              let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text)
        else { throw SetupError("the range server did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")") }
        self.port = port
    }

    deinit {
        child.stop()
        try? FileManager.default.removeItem(atPath: scratch)
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)/\(path)" }

    /// The requests the server received so far.
    func requests() -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}
