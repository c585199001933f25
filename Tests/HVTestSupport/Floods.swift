import Foundation

/// Connections another user opens to a Varlink socket and holds open. Each makes one call first, so
/// the server has admitted or refused every one of them before `init` returns.
public final class HeldConnections {
    private let child: Child
    private let stopFile: String
    /// How many connections were answered rather than refused.
    public let served: Int
    /// What the client printed.
    public let report: String

    /// - Parameters:
    ///   - call: the call each connection makes, without its NUL.
    public init(socket: String, count: Int, as user: String, call: String) throws {
        let directory = (socket as NSString).deletingLastPathComponent
        stopFile = directory + "/stop-held-\(UUID().uuidString.prefix(6))"
        let output = stopFile + ".out"
        let script = """
            import os, socket, sys, time
            path, count, call, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
            held, served = [], 0
            for _ in range(count):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                reply = b""
                try:
                    # A refused connection may be answered and closed before the call is sent.
                    s.connect(path)
                    s.sendall(call + b"\\0")
                    while not reply.endswith(b"\\0"):
                        chunk = s.recv(4096)
                        if not chunk: break
                        reply += chunk
                except OSError:
                    pass
                if reply.endswith(b"\\0") and b'"error"' not in reply: served += 1
                held.append(s)
            print("served", served, flush=True)
            while not os.path.exists(stop): time.sleep(0.05)
            """
        child = try Child(try asUser(user) + ["/usr/bin/python3", "-c", script, socket, "\(count)", call, stopFile], output: output)
        var text = ""
        _ = waitUntil(60) {
            text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            return text.contains("\n")
        }
        report = text
        served = text.hasPrefix("served ") ? Int(text.dropFirst(7).prefix { $0.isNumber }) ?? -1 : -1
    }

    /// Closes the connections.
    public func stop() {
        FileManager.default.createFile(atPath: stopFile, contents: nil)
        child.stop()
    }
}

/// Another user sending open descriptors to an upload socket as fast as it can, 200 to a message
/// and never a whole call, on four connections at once, reconnecting whenever one is closed.
public final class DescriptorFlood {
    private let child: Child
    private let stopFile: String

    public init(socket: String, as user: String) throws {
        let directory = (socket as NSString).deletingLastPathComponent
        stopFile = directory + "/stop-flood-\(UUID().uuidString.prefix(6))"
        let output = stopFile + ".out"
        let script = """
            import os, socket, sys, threading
            path, stop = sys.argv[1], sys.argv[2]
            r, w = os.pipe()
            def flood():
                while not os.path.exists(stop):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    try:
                        s.connect(path)
                        while not os.path.exists(stop):
                            socket.send_fds(s, [b" "], [r] * 200)
                    except OSError:
                        pass
                    finally:
                        s.close()
            threads = [threading.Thread(target=flood) for _ in range(4)]
            for t in threads: t.start()
            print("flooding", flush=True)
            for t in threads: t.join()
            """
        child = try Child(try asUser(user) + ["/usr/bin/python3", "-c", script, socket, stopFile], output: output)
        _ = waitUntil(30) { ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").contains("flooding") }
    }

    public func stop() {
        FileManager.default.createFile(atPath: stopFile, contents: nil)
        child.stop()
    }
}

/// The arguments that run a program as `user` (its uid and primary group, no other groups) in place
/// of `setpriv`, so that stopping the child stops the program itself.
public func asUser(_ user: String) throws -> [String] {
    guard let entry = getpwnam(user) else { throw SetupError("no user \(user)") }
    return ["/usr/bin/setpriv", "--reuid=\(entry.pointee.pw_uid)", "--regid=\(entry.pointee.pw_gid)", "--clear-groups", "--"]
}

/// How many descriptors process `pid` has open.
public func openDescriptorCount(_ pid: pid_t) -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
}
