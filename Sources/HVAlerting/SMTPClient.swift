import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// Sends one message over SMTP: EHLO, STARTTLS (unless `tls: none` on localhost), EHLO again, AUTH
/// PLAIN or LOGIN as the server offers, MAIL FROM, RCPT TO, DATA, QUIT. Every step has the
/// settings' timeout.
struct SMTPClient: Sendable {
    var settings: EmailSettings
    /// The password, already read from `password_file`.
    var password: String?
    var group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    func send(_ message: EmailMessage) async throws {
        let timeout = TimeAmount.milliseconds(Int64(settings.timeoutSeconds * 1_000))
        let tls = try makeTLSContext()
        let host = settings.host
        let implicitTLS = settings.security == .tls
        let firstError = NIOLockedValueBox<(any Error)?>(nil)
        let stream = SMTPStreamState()
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if implicitTLS, let tls {
                            let handler = try NIOSSLClientHandler(context: tls, serverHostname: Self.sniName(host))
                            try channel.pipeline.syncOperations.addHandler(handler)
                        }
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPResponseDecoder(state: stream)))
                        try channel.pipeline.syncOperations.addHandler(SMTPResponseHandler(firstError: firstError))
                    }
                }
                .connect(host: host, port: settings.port).get()
        } catch {
            throw AlertingError(
                .deliveryFailed, "cannot connect to SMTP server \(host):\(settings.port): \(error)",
                fix: "check host, port and that the server is reachable from this machine")
        }
        let session = Session(channel: channel, timeout: timeout, firstError: firstError, stream: stream)
        do {
            try await converse(session, message: message, tls: tls)
            channel.close(promise: nil)
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    private func converse(_ session: Session, message: EmailMessage, tls: NIOSSLContext?) async throws {
        try await session.expect(220, step: "greeting")
        let name = Self.localName()
        var hello = try await session.command("EHLO \(name)", expect: 250, step: "EHLO")
        if settings.security == .starttls, let tls {
            guard hello.extensions["STARTTLS"] != nil else {
                throw AlertingError(
                    .deliveryFailed, "SMTP server \(settings.host) does not offer STARTTLS (EHLO: \(hello)); refusing to send in clear",
                    fix: "use a server that supports STARTTLS, tls: tls for port 465, or tls: none for a localhost relay")
            }
            try await session.command("STARTTLS", expect: 220, step: "STARTTLS")
            try await session.startTLS(tls, serverHostname: Self.sniName(settings.host))
            hello = try await session.command("EHLO \(name)", expect: 250, step: "EHLO after STARTTLS")
        }
        if let username = settings.username, let password {
            try await authenticate(session, username: username, password: password, offered: hello.extensions["AUTH"] ?? [])
        }
        try await session.command("MAIL FROM:<\(message.from)>", expect: 250, step: "MAIL FROM")
        for recipient in message.to {
            try await session.command("RCPT TO:<\(recipient)>", expect: 250, also: 251, step: "RCPT TO \(recipient)")
        }
        try await session.command("DATA", expect: 354, step: "DATA")
        try await session.send(EmailMessage.dotStuffed(message.rendered()), step: "message")
        try await session.expect(250, step: "message")
        _ = try? await session.command("QUIT", expect: 221, step: "QUIT")
    }

    private func authenticate(_ session: Session, username: String, password: String, offered: [String]) async throws {
        let mechanism: EmailSettings.Authentication
        if let forced = settings.authentication {
            mechanism = forced
        } else if offered.contains("PLAIN") {
            mechanism = .plain
        } else if offered.contains("LOGIN") {
            mechanism = .login
        } else {
            throw AlertingError(
                .deliveryFailed,
                "SMTP server \(settings.host) offers no AUTH PLAIN or LOGIN (offers: \(offered.joined(separator: " ")))",
                fix: "check that the server allows authentication on this port after STARTTLS")
        }
        switch mechanism {
        case .plain:
            let token = Data("\0\(username)\0\(password)".utf8).base64EncodedString()
            try await session.command("AUTH PLAIN \(token)", expect: 235, step: "AUTH PLAIN", secret: true)
        case .login:
            try await session.command("AUTH LOGIN", expect: 334, step: "AUTH LOGIN")
            try await session.command(Data(username.utf8).base64EncodedString(), expect: 334, step: "AUTH LOGIN user")
            try await session.command(
                Data(password.utf8).base64EncodedString(), expect: 235, step: "AUTH LOGIN password", secret: true)
        }
    }

    private func makeTLSContext() throws -> NIOSSLContext? {
        guard settings.security != .none else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile = settings.caFile {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw AlertingError(
                    .deliveryFailed, "cannot read ca_file \(caFile): \(error)", fix: "point ca_file at a PEM file of CA certificates")
            }
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// The name to verify and send as SNI; nil for an IP address (verified against the certificate's IP entries).
    static func sniName(_ host: String) -> String? {
        var v4 = in_addr()
        var v6 = in6_addr()
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if inet_pton(AF_INET, bare, &v4) == 1 || inet_pton(AF_INET6, bare, &v6) == 1 { return nil }
        return host
    }

    /// This machine's name for EHLO.
    static func localName() -> String {
        let name = ProcessInfo.processInfo.hostName
        return name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") })
            ? "[127.0.0.1]" : name
    }
}

/// One SMTP connection: commands and replies, each bounded by the timeout.
private struct Session: Sendable {
    let channel: any Channel
    let timeout: TimeAmount
    let firstError: NIOLockedValueBox<(any Error)?>
    let stream: SMTPStreamState

    /// An AlertingError for a failed step, naming the connection's first error when there was one.
    func failure(_ error: any Error, step: String) -> AlertingError {
        if let error = error as? AlertingError { return error }
        let cause = firstError.withLockedValue { $0 } ?? error
        if let cause = cause as? AlertingError { return cause }
        return AlertingError(.deliveryFailed, "SMTP \(step) failed: \(cause)")
    }

    func startTLS(_ context: NIOSSLContext, serverHostname: String?) async throws {
        let channel = self.channel
        let stream = self.stream
        try await channel.eventLoop.submit {
            // Anything already received after the server's 220 came in plaintext: refuse it rather
            // than read it as the answer to the encrypted EHLO (STARTTLS command injection).
            let replies = try channel.pipeline.syncOperations.handler(type: SMTPResponseHandler.self)
            guard !replies.hasUnread, stream.bufferedBytes == 0 else {
                throw AlertingError(
                    .deliveryFailed, "the SMTP server sent data after agreeing to STARTTLS; refusing it as possible tampering",
                    fix: "check for a man in the middle between this host and the SMTP server")
            }
            let handler = try NIOSSLClientHandler(context: context, serverHostname: serverHostname)
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        }.get()
    }

    func send(_ text: String, step: String) async throws {
        let channel = self.channel
        let timeout = self.timeout
        do {
            try await write(text, channel: channel, timeout: timeout)
        } catch {
            throw failure(error, step: step)
        }
    }

    private func write(_ text: String, channel: any Channel, timeout: TimeAmount) async throws {
        try await channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: Void.self)
            let timer = channel.eventLoop.scheduleTask(in: timeout) {
                promise.fail(AlertingError(.timedOut, "SMTP write timed out"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
            channel.writeAndFlush(ByteBuffer(string: text), promise: promise)
            return promise.futureResult
        }.get()
    }

    func next(step: String) async throws -> SMTPResponse {
        let channel = self.channel
        let timeout = self.timeout
        do {
            return try await channel.eventLoop.flatSubmit {
                let promise = channel.eventLoop.makePromise(of: SMTPResponse.self)
                let timer = channel.eventLoop.scheduleTask(in: timeout) {
                    promise.fail(AlertingError(.timedOut, "SMTP server did not answer \(step) in time"))
                    channel.close(promise: nil)
                }
                promise.futureResult.whenComplete { _ in timer.cancel() }
                do {
                    try channel.pipeline.syncOperations.handler(type: SMTPResponseHandler.self).next(promise)
                } catch {
                    promise.fail(error)
                }
                return promise.futureResult
            }.get()
        } catch {
            throw failure(error, step: step)
        }
    }

    @discardableResult
    func expect(_ code: Int, also other: Int? = nil, step: String) async throws -> SMTPResponse {
        let response = try await next(step: step)
        guard response.code == code || response.code == other else {
            throw AlertingError(.deliveryFailed, "SMTP server refused \(step): \(response)")
        }
        return response
    }

    /// Sends one command line; `secret` keeps it out of error messages (it is never logged either).
    @discardableResult
    func command(_ line: String, expect code: Int, also other: Int? = nil, step: String, secret: Bool = false)
        async throws -> SMTPResponse
    {
        guard !line.contains("\r"), !line.contains("\n") else {
            throw AlertingError(.deliveryFailed, "refusing an SMTP \(step) command with a line break in it")
        }
        try await send(line + "\r\n", step: step)
        return try await expect(code, also: other, step: step)
    }
}
