import Foundation
import HVProtocol
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

    @Test func aResolvedNotificationSaysWhyInEveryChannel() throws {
        var note = AlertNotification(
            id: 3, time: 0, key: #"vm-stopped-unexpectedly{vm="web1"}"#, rule: "vm-stopped-unexpectedly",
            severity: .critical, kind: "firing", summary: "VM web1 stopped unexpectedly", labels: ["vm": "web1"],
            deliveries: [])
        func json(_ flavor: WebhookSettings.Flavor) throws -> [String: Any] {
            let body = try WebhookPayloads.body(for: flavor, note)
            return try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        }
        #expect(NotificationText.title(note) == "[FIRING] critical: VM web1 stopped unexpectedly")
        #expect(try json(.webhook)["reason"] == nil)

        note.kind = "resolved"
        note.reason = "vm web1 no longer exists"
        let line = "VM web1 stopped unexpectedly (resolved: vm web1 no longer exists)"
        #expect(NotificationText.title(note) == "[RESOLVED] critical: " + line)
        #expect(NotificationText.body(note).hasPrefix(line + "\n"))
        #expect(try json(.webhook)["reason"] as? String == "vm web1 no longer exists")
        #expect(try json(.webhook)["summary"] as? String == "VM web1 stopped unexpectedly")
        let slackSection = (try json(.slack)["blocks"] as? [[String: Any]])?[1]["text"] as? [String: Any]
        #expect(slackSection?["text"] as? String == line)
        let embed = (try json(.discord)["embeds"] as? [[String: Any]])?.first
        #expect(embed?["description"] as? String == line)
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
