import Foundation
import Glibc

/// A minimal blocking HTTP/1.1 client for `GET /metrics` on 127.0.0.1, on one keep-alive
/// connection with a bearer token, as Prometheus scrapes.
final class ScrapeClient {
    private let descriptor: Int32
    private let request: [UInt8]
    private var pending: [UInt8] = []

    init(port: Int, token: String) throws(BenchError) {
        request = Array(
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\nAuthorization: Bearer \(token)\r\n\r\n"
                .utf8)
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Self.failure("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let error = Self.failure("connect to 127.0.0.1:\(port)")
            close(descriptor)
            throw error
        }
    }

    deinit {
        close(descriptor)
    }

    /// Sends one `GET /metrics` and returns the response body once all of it has arrived.
    func scrape() throws(BenchError) -> [UInt8] {
        let sent = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { throw Self.failure("send") }

        let separator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            headEnd = pending.firstRange(of: separator)?.upperBound
            if headEnd == nil { try receive() }
        }
        guard let headEnd else { throw BenchError(.measurementFailed, "scrape: no response head") }
        let head = String(decoding: pending[..<headEnd], as: UTF8.self)
        guard head.hasPrefix("HTTP/1.1 200") else {
            throw BenchError(.measurementFailed, "scrape: \(head.prefix { $0 != "\r" })")
        }
        let lengthLine = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
        guard let lengthLine, let length = Int(lengthLine.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { throw BenchError(.measurementFailed, "scrape: the response has no Content-Length") }
        while pending.count < headEnd + length { try receive() }
        let body = Array(pending[headEnd..<(headEnd + length)])
        pending.removeFirst(headEnd + length)
        return body
    }

    private func receive() throws(BenchError) {
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else {
            throw count == 0 ? BenchError(.measurementFailed, "scrape: the server closed the connection") : Self.failure("recv")
        }
        pending += buffer[0..<count]
    }

    private static func failure(_ what: String) -> BenchError {
        BenchError(.measurementFailed, "scrape: \(what): \(String(cString: strerror(errno)))")
    }
}
