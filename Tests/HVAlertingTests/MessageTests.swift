import Foundation
import Testing

@testable import HVAlerting

@Suite struct MessageTests {
    @Test func dotStuffingDoublesLeadingDotsAndTerminates() {
        #expect(EmailMessage.dotStuffed("a\r\n.b\r\n..c\r\n") == "a\r\n..b\r\n...c\r\n.\r\n")
        #expect(EmailMessage.dotStuffed("a\nb") == "a\r\nb\r\n.\r\n")
    }

    @Test func subjectsAreEncodedWhenNeeded() {
        #expect(EmailMessage.encodedSubject("plain subject") == "plain subject")
        #expect(EmailMessage.encodedSubject("line\r\nBcc: x") == "line Bcc: x")
        #expect(EmailMessage.encodedSubject("a\nb\rc") == "a b c")
        let encoded = EmailMessage.encodedSubject(String(repeating: "ü", count: 40))
        let words = encoded.components(separatedBy: "\r\n ")
        #expect(words.count == 2)
        #expect(words.allSatisfy { $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") && $0.count <= 75 })
        let decoded = words.map {
            String(decoding: Data(base64Encoded: String($0.dropFirst(10).dropLast(2))) ?? Data(), as: UTF8.self)
        }.joined()
        #expect(decoded == String(repeating: "ü", count: 40))
    }

    @Test func replyDecoderJoinsMultilineReplies() throws {
        let response = SMTPResponse(code: 250, lines: ["mail.example.com", "PIPELINING", "AUTH PLAIN LOGIN", "STARTTLS"])
        #expect(response.extensions["AUTH"] == ["PLAIN", "LOGIN"])
        #expect(response.extensions["STARTTLS"] == [])
    }

    @Test func backoffDoubles() {
        let policy = DeliveryPolicy(attempts: 4, baseDelaySeconds: 0.5)
        #expect([1, 2, 3].map(policy.delay(after:)) == [0.5, 1, 2])
    }
}
