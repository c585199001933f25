import Foundation
import HVTestSupport

/// Test servers written in Python: an aiosmtpd server that requires STARTTLS and AUTH, and an HTTP
/// receiver. Each appends what it receives to a JSON-lines file and writes `ready` when listening.
enum Servers {
    static let smtp = """
        import email, email.policy, json, ssl, sys, time
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword
        out, cert, key, port, ready, user, password, mode = sys.argv[1:9]

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                record = {"from": envelope.mail_from, "to": envelope.rcpt_tos,
                          "data": envelope.content.decode("utf-8", "replace"),
                          "subject": str(message["subject"]), "body": message.get_content(),
                          "headers": {k: str(v) for k, v in message.items()},
                          "tls": session.ssl is not None, "authenticated": bool(session.authenticated)}
                with open(out, "a") as f:
                    f.write(json.dumps(record) + "\\n")
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and data.login.decode() == user and data.password.decode() == password
            return AuthResult(success=ok, handled=False)

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        if mode != "plain":
            context.load_cert_chain(cert, key)
        if mode == "plain":
            controller = Controller(Handler(), hostname="127.0.0.1", port=int(port))
        elif mode == "tls":
            controller = Controller(Handler(), hostname="127.0.0.1", port=int(port), ssl_context=context,
                                    authenticator=authenticator, auth_required=True, auth_require_tls=False)
        else:
            controller = Controller(Handler(), hostname="127.0.0.1", port=int(port), tls_context=context,
                                    require_starttls=True, authenticator=authenticator, auth_required=True,
                                    auth_require_tls=True)
        controller.start()
        open(ready, "w").write("ready")
        while True:
            time.sleep(60)
        """

    static let http = """
        import json, sys
        from http.server import BaseHTTPRequestHandler, HTTPServer
        out, port, ready = sys.argv[1:4]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with open(out, "a") as f:
                    f.write(json.dumps({"path": self.path, "type": self.headers.get("Content-Type"),
                                        "body": json.loads(body)}) + "\\n")
                self.send_response(204 if self.path != "/fail" else 500)
                self.end_headers()
            def log_message(self, *args):
                pass

        server = HTTPServer(("127.0.0.1", int(port)), Handler)
        open(ready, "w").write("ready")
        server.serve_forever()
        """

    struct Running {
        let child: Child
        let port: Int
        let received: String
    }

    /// Starts a script and waits until it is listening.
    static func start(_ script: String, in directory: TemporaryDirectory, name: String, arguments: (Int, String, String) -> [String])
        throws -> Running
    {
        let path = try directory.write("\(name).py", script)
        let port = try freePort()
        let received = directory.file("\(name)-received.jsonl")
        let ready = directory.file("\(name).ready")
        let child = try Child(
            ["python3", path] + arguments(port, received, ready), output: directory.file("\(name).log"))
        guard waitUntil(20, { FileManager.default.fileExists(atPath: ready) }) else {
            child.stop()
            let log = (try? String(contentsOfFile: directory.file("\(name).log"), encoding: .utf8)) ?? ""
            throw SetupError("\(name) server did not start: \(log)")
        }
        return Running(child: child, port: port, received: received)
    }
}
