import Foundation
import NIOHTTP1

/// What to do with a response to a (possibly ranged) download request, given how many bytes the
/// partial file already holds.
enum ResumePlan: Hashable {
    /// The body continues the partial file (206 at the right offset, or 200 on a fresh start).
    case append(total: UInt64?)
    /// The body is the whole file: empty the partial file first (200 to a ranged request).
    case restart(total: UInt64?)
    /// The partial file already holds the whole file (416 with the same length).
    case complete

    init(status: Int, headers: HTTPHeaders, have: UInt64) throws(DownloadError) {
        let length = headers.first(name: "Content-Length").flatMap { UInt64($0) }
        switch status {
        case 200:
            self = have == 0 ? .append(total: length) : .restart(total: length)
        case 206:
            guard let range = headers.first(name: "Content-Range").flatMap(ContentRange.init), range.first == have else {
                throw DownloadError(
                    .rangeMismatch, "the server resumed the download at another offset than the \(have) bytes already here"
                )
            }
            self = .append(total: range.total)
        case 416:
            let total = headers.first(name: "Content-Range").flatMap(ContentRange.init)?.total
            guard have > 0, total == have else {
                throw DownloadError(.rangeMismatch, "the server cannot resume at byte \(have) of the partial download")
            }
            self = .complete
        default:
            throw DownloadError(
                .httpStatus, "the server answered \(status) \(HTTPResponseStatus(statusCode: status).reasonPhrase)",
                fix: status == 404 || status == 410 ? "check the URL" : "check the URL, or try again later", status: status
            )
        }
    }
}

/// A `Content-Range` header: `bytes 100-199/1000`, `bytes 100-199/*` or `bytes */1000`.
struct ContentRange: Hashable {
    var first: UInt64?
    var last: UInt64?
    var total: UInt64?

    init?(_ header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes ") else { return nil }
        let parts = trimmed.dropFirst(6).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        if parts[1] == "*" {
            total = nil
        } else {
            guard let value = UInt64(parts[1]) else { return nil }
            total = value
        }
        if parts[0] != "*" {
            let bounds = parts[0].split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 2, let first = UInt64(bounds[0]), let last = UInt64(bounds[1]), first <= last else {
                return nil
            }
            self.first = first
            self.last = last
        } else if total == nil {
            return nil
        }
    }
}
