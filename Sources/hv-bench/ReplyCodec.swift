import HVProtocol

/// Every JSON step a broker reply takes, in this process: the broker turns the reply into a JSON
/// object and writes the message; the client reads the message and turns its parameters into the
/// reply type. The part of a bulk read's round trip that is the codec's.
struct ReplyCodec<Reply: Codable & Sendable> {
    let reply: Reply

    func roundTrip() throws(BenchError) {
        do {
            let written = try VarlinkJSON.encode(VarlinkReply(parameters: try VarlinkJSON.object(reply)))
            let read = try VarlinkJSON.decode(VarlinkReply.self, from: written)
            _ = try VarlinkJSON.convert(read.parameters ?? [:], to: Reply.self)
        } catch {
            throw BenchError(.measurementFailed, "JSON of \(Reply.self): \(error)")
        }
    }
}
