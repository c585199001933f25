import Foundation
import Glibc
import HVSystem

/// A minimal blocking HTTP/1.1 client for `GET /metrics` on 127.0.0.1, on one keep-alive
/// connection with a bearer token, as Prometheus scrapes.
final class ScrapeClient {
    private let socket: Descriptor
    private let request: [UInt8]
    private var pending: [UInt8] = []

    init(port: Int, token: String) throws(BenchError) {
        request = Array(
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\nAuthorization: Bearer \(token)\r\n\r\n"
                .utf8)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        do {
            socket = try Descriptor.socket(AF_INET, Int32(SOCK_STREAM.rawValue), name: "127.0.0.1:\(port)")
            try systemCall("connect to 127.0.0.1:\(port)") { [socket] in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(socket.raw, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        } catch {
            throw Self.failure(error)
        }
    }

    /// Sends one `GET /metrics` and returns the response body once all of it has arrived.
    func scrape() throws(BenchError) -> [UInt8] {
        do {
            try socket.sendAll(request)
        } catch {
            throw Self.failure(error)
        }

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
        let count: Int
        do {
            count = try socket.read(into: &buffer)
        } catch {
            throw Self.failure(error)
        }
        guard count > 0 else { throw BenchError(.measurementFailed, "scrape: the server closed the connection") }
        pending += buffer[0..<count]
    }

    private static func failure(_ error: SystemError) -> BenchError {
        BenchError(.measurementFailed, "scrape: \(error)")
    }
}
