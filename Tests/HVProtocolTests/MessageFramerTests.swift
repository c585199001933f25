import HVProtocol
import Testing

@Suite struct MessageFramerTests {
    let messages: [[UInt8]] = [Array(#"{"method":"a"}"#.utf8), Array(#"{"method":"bb","parameters":{}}"#.utf8), [0x7b, 0x7d]]

    var stream: [UInt8] { messages.flatMap(MessageFramer.frame) }

    @Test func whole() throws {
        var framer = MessageFramer(maximumMessageSize: 1024)
        framer.append(stream)
        var decoded: [[UInt8]] = []
        while let message = try framer.next() { decoded.append(message) }
        #expect(decoded == messages)
        #expect(!framer.hasPartialMessage)
    }

    /// Every way of cutting the stream in two yields the same messages.
    @Test func splitAtEveryByte() throws {
        for cut in 0...stream.count {
            var framer = MessageFramer(maximumMessageSize: 1024)
            var decoded: [[UInt8]] = []
            framer.append(stream[..<cut])
            while let message = try framer.next() { decoded.append(message) }
            framer.append(stream[cut...])
            while let message = try framer.next() { decoded.append(message) }
            #expect(decoded == messages, "cut at \(cut)")
        }
    }

    @Test func byteByByte() throws {
        var framer = MessageFramer(maximumMessageSize: 1024)
        var decoded: [[UInt8]] = []
        for byte in stream {
            framer.append([byte])
            while let message = try framer.next() { decoded.append(message) }
        }
        #expect(decoded == messages)
    }

    @Test func partialMessageIsHeld() throws {
        var framer = MessageFramer(maximumMessageSize: 1024)
        framer.append(Array(#"{"method":"#.utf8))
        #expect(try framer.next() == nil)
        #expect(framer.hasPartialMessage)
    }

    @Test func exactlyAtLimitIsAccepted() throws {
        var framer = MessageFramer(maximumMessageSize: 8)
        framer.append([UInt8](repeating: 0x41, count: 8) + [0])
        #expect(try framer.next()?.count == 8)
    }

    @Test func oversizeWithoutTerminatorIsRefusedEarly() {
        var framer = MessageFramer(maximumMessageSize: 8)
        framer.append([UInt8](repeating: 0x41, count: 9))
        #expect(throws: FrameError.tooLarge(limit: 8)) { try framer.next() }
    }

    @Test func oversizeWithTerminatorIsRefused() {
        var framer = MessageFramer(maximumMessageSize: 8)
        framer.append([UInt8](repeating: 0x41, count: 20) + [0])
        #expect(throws: FrameError.tooLarge(limit: 8)) { try framer.next() }
    }

    /// Everything after an over-long message is refused too: the stream can't be resynchronised.
    @Test func oversizeStaysRefused() {
        var framer = MessageFramer(maximumMessageSize: 8)
        framer.append([UInt8](repeating: 0x41, count: 9))
        #expect(throws: FrameError.tooLarge(limit: 8)) { try framer.next() }
        framer.append([0] + Array(#"{}"#.utf8) + [0])
        let error = #expect(throws: FrameError.self) { try framer.next() }
        #expect(error?.code == .tooLarge)
    }

    @Test func inputEndingInsideAMessageIsUnterminated() throws {
        var framer = MessageFramer(maximumMessageSize: 64)
        framer.append(Array(#"{"method":"a"}"#.utf8) + [0] + Array(#"{"meth"#.utf8))
        #expect(try framer.next() == Array(#"{"method":"a"}"#.utf8))
        #expect(try framer.next() == nil)
        let error = #expect(throws: FrameError.self) { try framer.finish() }
        #expect(error?.code == .unterminated)
        #expect(error?.reason.contains("after 6 bytes") == true)
    }

    @Test func inputEndingBetweenMessagesIsComplete() throws {
        var framer = MessageFramer(maximumMessageSize: 64)
        framer.append(stream)
        while try framer.next() != nil {}
        try framer.finish()
    }

    @Test func garbageIsFramedNotInterpreted() throws {
        var framer = MessageFramer(maximumMessageSize: 64)
        framer.append([0xff, 0xfe, 0x00, 0x01, 0x00])
        #expect(try framer.next() == [0xff, 0xfe])
        #expect(try framer.next() == [0x01])
        #expect(try framer.next() == nil)
    }
}
