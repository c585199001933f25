import HVProtocol

/// Every JSON step a broker reply takes, in this process: the broker writes the reply's parameters
/// and the message around them; the client reads the message and turns its parameters into the
/// reply type. The part of a bulk read's round trip that is the codec's.
struct ReplyCodec<Reply: Codable & Sendable> {
    let reply: Reply

    func roundTrip() throws(BenchError) {
        do {
            let written = VarlinkJSON.reply(try EncodedParameters(reply))
            let read = try VarlinkJSON.decode(VarlinkReply.self, from: written)
            _ = try VarlinkJSON.convert(read.parameters ?? [:], to: Reply.self)
        } catch {
            throw BenchError(.measurementFailed, "JSON of \(Reply.self): \(error)")
        }
    }
}
