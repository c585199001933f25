import Foundation
import HVAlerting
import HVProtocol
import HVSystem
import HVTestSupport
import Testing

/// Real deliveries to local servers: aiosmtpd with STARTTLS and AUTH, and a Python HTTP receiver.
@Suite(.serialized) struct DeliveryTests {
    func notification(_ summary: String, kind: String = "firing") -> AlertNotification {
        AlertNotification(
            id: 7, time: 1_700_000_000, key: #"vm-stopped-unexpectedly{vm="web1"}"#, rule: "vm-stopped-unexpectedly",
            severity: .critical, kind: kind, summary: summary, labels: ["vm": "web1"], deliveries: [])
    }

    @Test func emailGoesThroughStartTLSAndAuth() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (cert, key) = try directory.makeCertificate()
        let server = try Servers.start(Servers.smtp, in: directory, name: "smtp") { port, received, ready in
            [received, cert, key, String(port), ready, "monitor", "s3cret pass", "starttls"]
        }
        defer { server.child.stop() }
        let passwordFile = try directory.write("smtp-password", "s3cret pass\n")
        let settings = EmailSettings(
            host: "localhost", port: server.port, security: .starttls, username: "monitor", passwordFile: passwordFile,
            from: "hv-monitor@example.com", to: ["ops@example.com", "oncall@example.com"], caFile: cert, timeoutSeconds: 10)
        let channel = EmailChannel(name: "mail", settings: settings)

        try await channel.send(notification("VM wëb1 stopped — ünexpectedly"))
        try await channel.send(notification(".leading dot line"))

        #expect(waitUntil(10) { jsonLines(server.received).count == 2 })
        let messages = jsonLines(server.received)
        let first = try #require(messages.first)
        #expect(first["from"] as? String == "hv-monitor@example.com")
        #expect(first["to"] as? [String] == ["ops@example.com", "oncall@example.com"])
        #expect(first["tls"] as? Bool == true)
        #expect(first["authenticated"] as? Bool == true)
        #expect(first["subject"] as? String == "[FIRING] critical: VM wëb1 stopped — ünexpectedly")
        let body = try #require(first["body"] as? String)
        #expect(body.hasPrefix("VM wëb1 stopped — ünexpectedly\n"))
        #expect(body.contains("Alert: vm-stopped-unexpectedly{vm=\"web1\"}"))
        let headers = try #require(first["headers"] as? [String: String])
        #expect(headers["Date"]?.hasSuffix("+0000") == true)
        #expect(headers["Message-ID"]?.hasSuffix("@example.com>") == true)
        #expect((first["data"] as? String)?.contains("=?UTF-8?B?") == true)
        // Dot-stuffed on the wire, restored by the server.
        let dotted = (messages[1]["body"] as? String)?.replacingOccurrences(of: "\r\n", with: "\n")
        #expect(dotted?.hasPrefix(".leading dot line\n") == true)
    }

    @Test func emailOverImplicitTLSWithAuthLogin() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (cert, key) = try directory.makeCertificate()
        let server = try Servers.start(Servers.smtp, in: directory, name: "smtps") { port, received, ready in
            [received, cert, key, String(port), ready, "monitor", "pw", "tls"]
        }
        defer { server.child.stop() }
        let settings = EmailSettings(
            host: "127.0.0.1", port: server.port, security: .tls, username: "monitor",
            passwordFile: try directory.write("pw", "pw"), authentication: .login, from: "a@example.com",
            to: ["b@example.com"], caFile: cert, timeoutSeconds: 10)
        try await EmailChannel(name: "mail", settings: settings).send(notification("over TLS"))
        #expect(waitUntil(10) { jsonLines(server.received).count == 1 })
        #expect(jsonLines(server.received).first?["subject"] as? String == "[FIRING] critical: over TLS")
        #expect(jsonLines(server.received).first?["authenticated"] as? Bool == true)
    }

    @Test func serverWithoutStartTLSIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try Servers.start(Servers.smtp, in: directory, name: "plain") { port, received, ready in
            [received, "-", "-", String(port), ready, "monitor", "pw", "plain"]
        }
        defer { server.child.stop() }
        let settings = EmailSettings(
            host: "127.0.0.1", port: server.port, from: "a@example.com", to: ["b@example.com"], timeoutSeconds: 10)
        let error = await #expect(throws: AlertingError.self) {
            try await EmailChannel(name: "mail", settings: settings).send(notification("x"))
        }
        #expect(error?.reason.hasPrefix("SMTP server 127.0.0.1 does not offer STARTTLS") == true)
        #expect(jsonLines(server.received).isEmpty)
    }

    /// A man in the middle who pipelines a fake reply behind the STARTTLS go-ahead must not have it
    /// read as the server's answer over TLS.
    @Test func plaintextAfterStartTLSIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let injector = """
            import socket, sys
            out, port, ready = sys.argv[1:4]
            listener = socket.socket()
            listener.bind(("127.0.0.1", int(port)))
            listener.listen(1)
            open(ready, "w").write("ready")
            connection, _ = listener.accept()
            reader = connection.makefile("rb")
            connection.sendall(b"220 ready\\r\\n")
            reader.readline()
            connection.sendall(b"250-injector\\r\\n250 STARTTLS\\r\\n")
            reader.readline()
            connection.sendall(b"220 go ahead\\r\\n250 AUTH PLAIN\\r\\n")
            reader.read()
            """
        let server = try Servers.start(injector, in: directory, name: "injector") { port, received, ready in
            [received, String(port), ready]
        }
        defer { server.child.stop() }
        let settings = EmailSettings(
            host: "127.0.0.1", port: server.port, from: "a@example.com", to: ["b@example.com"], timeoutSeconds: 10)
        let error = await #expect(throws: AlertingError.self) {
            try await EmailChannel(name: "mail", settings: settings).send(notification("x"))
        }
        #expect(error?.reason.contains("after agreeing to STARTTLS") == true, "\(String(describing: error))")
    }

    @Test func wrongPasswordIsAClearFailure() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (cert, key) = try directory.makeCertificate()
        let server = try Servers.start(Servers.smtp, in: directory, name: "smtp") { port, received, ready in
            [received, cert, key, String(port), ready, "monitor", "right", "starttls"]
        }
        defer { server.child.stop() }
        let settings = EmailSettings(
            host: "localhost", port: server.port, username: "monitor", passwordFile: try directory.write("pw", "wrong"),
            from: "a@example.com", to: ["b@example.com"], caFile: cert, timeoutSeconds: 10)
        let error = await #expect(throws: AlertingError.self) {
            try await EmailChannel(name: "mail", settings: settings).send(notification("x"))
        }
        #expect(error?.code == .deliveryFailed)
        #expect(error?.reason.contains("AUTH PLAIN") == true)
        #expect(error?.reason.contains("wrong") == false)
        #expect(jsonLines(server.received).isEmpty)
    }

    @Test func untrustedCertificateIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (cert, key) = try directory.makeCertificate()
        let server = try Servers.start(Servers.smtp, in: directory, name: "smtp") { port, received, ready in
            [received, cert, key, String(port), ready, "monitor", "pw", "starttls"]
        }
        defer { server.child.stop() }
        // No ca_file: the system roots do not trust the test's self-signed certificate.
        let settings = EmailSettings(
            host: "localhost", port: server.port, username: "monitor", passwordFile: try directory.write("pw", "pw"),
            from: "a@example.com", to: ["b@example.com"], timeoutSeconds: 10)
        let error = await #expect(throws: AlertingError.self) {
            try await EmailChannel(name: "mail", settings: settings).send(notification("x"))
        }
        #expect(error?.code == .deliveryFailed)
        #expect(error?.reason.contains("certificate") == true || error?.reason.contains("CERTIFICATE") == true)
        #expect(jsonLines(server.received).isEmpty)
    }

    @Test func secretFilesReadableByOthersAreRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let loose = try directory.write("pw", "secret", mode: 0o640)
        let error = #expect(throws: AlertingError.self) {
            try ChannelSecret.read(loose, field: "channels.mail.password_file")
        }
        #expect(error?.code == .insecureSecret)
        #expect(error?.reason == "channels.mail.password_file: \(loose) is open to its group (mode 0640); it holds a secret")
        #expect(error?.fix == SecretFile().secureCommand(loose))
        #expect(error?.fix?.hasSuffix("&& chmod 0600 \(loose)") == true)
        let tight = try directory.write("pw2", "secret\n", mode: 0o600)
        #expect(try ChannelSecret.read(tight, field: "f") == "secret")
        let empty = try directory.write("pw3", "\n", mode: 0o600)
        let emptyError = #expect(throws: AlertingError.self) { try ChannelSecret.read(empty, field: "f") }
        #expect(emptyError?.reason == "f: \(empty) is empty")

        let configuration = try AlertConfiguration.parse(
            yaml: "channels:\n  - {name: s, type: slack, url_file: \(loose)}")
        #expect(throws: AlertingError.self) { try AlertChannels.make(configuration) }
    }

    @Test func webhooksCooldownResolveRetriesAndRestart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try Servers.start(Servers.http, in: directory, name: "receiver") { port, received, ready in
            [received, String(port), ready]
        }
        defer { server.child.stop() }
        let base = "http://127.0.0.1:\(server.port)"
        let slackURL = try directory.write("slack-url", "\(base)/slack\n")
        let closed = try freePort()
        let yaml = """
            rules:
              - {name: vm-down, severity: critical, summary: "VM {vm} is down", metric: hv_vm_up, below: 1, cooldown: 1h}
            channels:
              - {name: slack, type: slack, url_file: \(slackURL)}
              - {name: discord, type: discord, url: "\(base)/discord"}
              - {name: teams, type: teams, url: "\(base)/teams"}
              - {name: generic, type: webhook, url: "\(base)/generic"}
              - {name: dead, type: webhook, url: "http://127.0.0.1:\(closed)/nobody", timeout: 1s}
            routes:
              critical: [slack, discord, teams, generic, dead]
            delivery: {attempts: 3, base_delay: 1s}
            """
        let configuration = try AlertConfiguration.parse(yaml: yaml)
        let storePath = directory.file("alerts.sqlite")
        let sleeps = Recorder()
        let service = try AlertService(
            configuration: configuration, store: try AlertStore(path: storePath), sleep: { await sleeps.add($0) })
        let down = AlertInput(samples: [MetricSample(name: "hv_vm_up", labels: ["vm": "web1"], value: 0)])
        let up = AlertInput(samples: [MetricSample(name: "hv_vm_up", labels: ["vm": "web1"], value: 1)])
        let start = Date(timeIntervalSince1970: 1_700_000_000)

        let fired = try await service.evaluate(down, now: start)
        #expect(fired.sent.count == 1)
        let deliveries = try #require(fired.sent.first?.deliveries)
        #expect(deliveries.map(\.channel) == ["slack", "discord", "teams", "generic", "dead"])
        #expect(deliveries.prefix(4).allSatisfy { $0.delivered && $0.attempts == 1 })
        #expect(deliveries[4].delivered == false)
        #expect(deliveries[4].attempts == 3)
        #expect(await sleeps.values == [1, 2])

        #expect(waitUntil(10) { jsonLines(server.received).count == 4 })
        let bodies = Dictionary(
            jsonLines(server.received).map { ($0["path"] as? String ?? "", $0["body"] as? [String: Any] ?? [:]) },
            uniquingKeysWith: { first, _ in first })
        #expect(bodies["/slack"]?["text"] as? String == "[FIRING] critical: VM web1 is down")
        #expect((bodies["/slack"]?["blocks"] as? [[String: Any]])?.first?["type"] as? String == "header")
        #expect(bodies["/discord"]?["content"] as? String == "[FIRING] critical: VM web1 is down")
        let embed = (bodies["/discord"]?["embeds"] as? [[String: Any]])?.first
        #expect(embed?["description"] as? String == "VM web1 is down")
        #expect(embed?["color"] as? Int == 0xD0_36_36)
        #expect(bodies["/teams"]?["type"] as? String == "message")
        let attachment = (bodies["/teams"]?["attachments"] as? [[String: Any]])?.first
        #expect(attachment?["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
        #expect((attachment?["content"] as? [String: Any])?["$schema"] as? String == "http://adaptivecards.io/schemas/adaptive-card.json")
        #expect(bodies["/generic"]?["key"] as? String == #"vm-down{vm="web1"}"#)
        #expect(bodies["/generic"]?["kind"] as? String == "firing")
        #expect(bodies["/generic"]?["labels"] as? [String: String] == ["vm": "web1"])

        // Keeps firing: nothing new.
        #expect(try await service.evaluate(down, now: start.addingTimeInterval(60)).sent.isEmpty)
        // Recovers: a resolve goes out.
        let resolved = try await service.evaluate(up, now: start.addingTimeInterval(120))
        #expect(resolved.sent.map(\.kind) == ["resolved"])
        #expect(waitUntil(10) { jsonLines(server.received).count == 8 })
        // Fires again inside the one-hour cooldown: held, nothing sent.
        let refire = try await service.evaluate(down, now: start.addingTimeInterval(180))
        #expect(refire.sent.isEmpty)
        #expect(refire.held.count == 1)
        #expect(refire.active.map(\.key) == [#"vm-down{vm="web1"}"#])
        let counts = await service.firingCounts()
        #expect(counts.map(\.rule) == ["vm-down"] && counts.map(\.firing) == [1] && counts.map(\.severity) == [.critical])
        try await Task.sleep(for: .milliseconds(300))
        #expect(jsonLines(server.received).count == 8)

        // The store has every notification with its deliveries, newest first.
        let history = try await service.history()
        #expect(history.map(\.kind) == ["firing", "resolved", "firing"])
        #expect(history.last?.deliveries.count == 5)
        #expect(history.last?.deliveries.first { $0.channel == "dead" }?.delivered == false)

        // A restarted monitor remembers the cooldown and sends nothing for the still-firing alert.
        let restarted = try AlertService(
            configuration: configuration, store: try AlertStore(path: storePath), sleep: { _ in })
        #expect(try await restarted.evaluate(down, now: start.addingTimeInterval(240)).sent.isEmpty)
        #expect(try await restarted.evaluate(down, now: start.addingTimeInterval(3_600)).sent.count == 1)

        // A test notification through one channel.
        let test = try await restarted.sendTest(channel: "generic", now: start.addingTimeInterval(3_700))
        #expect(test.kind == "test")
        #expect(test.deliveries == [AlertDelivery(channel: "generic", delivered: true, attempts: 1, error: nil)])
        #expect(waitUntil(10) { jsonLines(server.received).contains { ($0["body"] as? [String: Any])?["kind"] as? String == "test" } })
        let missing = await #expect(throws: AlertingError.self) {
            try await restarted.sendTest(channel: "pager", now: start)
        }
        #expect(missing?.code == .noChannel)
    }
}

actor Recorder {
    var values: [Double] = []
    func add(_ value: Double) { values.append(value) }
}
