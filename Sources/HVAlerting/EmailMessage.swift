import Foundation

/// An RFC 5322 text message, ready for SMTP DATA (before dot-stuffing).
struct EmailMessage: Sendable, Hashable {
    var from: String
    var to: [String]
    var subject: String
    var body: String
    var date: Date
    var messageID: String

    /// Headers and body with CRLF line ends. Non-ASCII subjects become RFC 2047 encoded words; a
    /// non-ASCII body is sent as base64 UTF-8.
    func rendered() -> String {
        let ascii = body.allSatisfy(\.isASCII) && !body.split(separator: "\n").contains { $0.utf8.count > 900 }
        var lines = [
            "Date: \(Self.dateText(date))",
            "From: <\(from)>",
            "To: \(to.map { "<\($0)>" }.joined(separator: ", "))",
            "Subject: \(Self.encodedSubject(subject))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: \(ascii ? "7bit" : "base64")",
            "",
        ]
        if ascii {
            lines += body.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
                .map(String.init)
        } else {
            let encoded = Data(body.utf8).base64EncodedString()
            var index = encoded.startIndex
            while index < encoded.endIndex {
                let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
                lines.append(String(encoded[index..<end]))
                index = end
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// The DATA payload: every line starting with `.` gets another `.`, then the terminating `.` line.
    static func dotStuffed(_ message: String) -> String {
        let lines = message.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        var body = lines.map { $0.hasPrefix(".") ? "." + $0 : String($0) }
        if body.last == "" { body.removeLast() }
        return body.joined(separator: "\r\n") + "\r\n.\r\n"
    }

    /// RFC 5322 `Date:`, in UTC.
    static func dateText(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    /// Plain ASCII subjects as they are; anything else as `=?UTF-8?B?…?=` words of at most 75
    /// characters, split on character boundaries and folded onto continuation lines.
    static func encodedSubject(_ subject: String) -> String {
        let clean = String(subject.map { $0.isNewline ? " " : $0 })
        if clean.allSatisfy({ $0.isASCII && !$0.isNewline }), clean.utf8.count <= 70 { return clean }
        var words: [String] = []
        var chunk = Data()
        for character in clean {
            let bytes = Data(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?\(chunk.base64EncodedString())?=")
                chunk = Data()
            }
            chunk.append(bytes)
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(chunk.base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }
}
