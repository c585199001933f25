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

/// Another user sending D-Bus signals, as fast as the bus takes them, to the given connections on
/// the system bus (any local user may send a signal to any connection). Written against the bus
/// socket directly, with nothing but Python's standard library.
public final class BusSignalFlood {
    private let child: Child
    private let stopFile: String
    private let output: String

    /// - Parameters:
    ///   - names: unique bus names (`:1.42`) to send to, in turn.
    public init(names: [String], directory: String, as user: String) throws {
        stopFile = directory + "/stop-bus-flood-\(UUID().uuidString.prefix(6))"
        output = stopFile + ".out"
        let script = """
            import os, socket, struct, sys
            names, stop = sys.argv[1].split(","), sys.argv[2]
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/run/dbus/system_bus_socket")
            s.connect(address.split("path=", 1)[1].split(",")[0])
            s.sendall(b"\\0AUTH EXTERNAL " + str(os.getuid()).encode().hex().encode() + b"\\r\\n")
            answer = b""
            while b"\\r\\n" not in answer: answer += s.recv(4096)
            if not answer.startswith(b"OK"): sys.exit("the bus refused: %r" % answer)
            s.sendall(b"BEGIN\\r\\n")
            def pad(data, n): return data + b"\\0" * (-len(data) % n)
            def field(code, kind, value):
                return bytes([code, 1]) + kind.encode() + b"\\0" + struct.pack("<I", len(value)) + value.encode() + b"\\0"
            def message(kind, flags, fields):
                array = b""
                for f in fields: array = pad(array, 8) + f
                return bytearray(pad(struct.pack("<cBBBIII", b"l", kind, flags, 1, 0, 1, len(array)) + array, 8))
            hello = message(1, 0, [field(1, "o", "/org/freedesktop/DBus"), field(2, "s", "org.freedesktop.DBus"),
                field(3, "s", "Hello"), field(6, "s", "org.freedesktop.DBus")])
            s.sendall(hello)
            # Signals expect no reply (flag 1), so the bus sends none back for a name that has gone.
            signals = [message(4, 1, [field(1, "o", "/org/hypernixos/Noise"), field(2, "s", "org.hypernixos.Noise"),
                field(3, "s", "Noise"), field(6, "s", name)]) for name in names]
            s.setblocking(False)
            serial, sent = 1, 0
            print("flooding", flush=True)
            while not os.path.exists(stop):
                for signal in signals:
                    serial += 1
                    struct.pack_into("<I", signal, 8, serial)
                    s.setblocking(True)
                    s.sendall(signal)
                    s.setblocking(False)
                    sent += 1
                try:
                    while s.recv(65536): pass
                except BlockingIOError:
                    pass
                if sent % 10000 < len(signals): print("sent", sent, flush=True)
            print("sent", sent, flush=True)
            """
        child = try Child(try asUser(user) + ["/usr/bin/python3", "-c", script, names.joined(separator: ","), stopFile], output: output)
        _ = waitUntil(30) { ((try? String(contentsOfFile: self.output, encoding: .utf8)) ?? "").contains("flooding") }
    }

    /// How many signals it has sent, as it last said.
    public var sent: Int {
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").last { $0.hasPrefix("sent ") }.flatMap { Int($0.dropFirst(5)) } ?? 0
    }

    /// What it printed, for a failed expectation.
    public var report: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

    /// Stops the flood and waits for the flooder to end; once is enough.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        FileManager.default.createFile(atPath: stopFile, contents: nil)
        _ = child.wait(timeout: 10)
    }

    private var stopped = false
}

/// The unique names (`:1.42`) process `pid` holds on the system bus, as `busctl` lists them.
public func busNames(of pid: pid_t) throws -> [String] {
    let listed = try run(["/usr/bin/busctl", "list", "--system", "--unique", "--no-legend", "--no-pager"])
    return listed.stdout.split(separator: "\n").compactMap { line in
        let columns = line.split(separator: " ", omittingEmptySubsequences: true)
        guard columns.count > 1, columns[1] == "\(pid)" else { return nil }
        return String(columns[0])
    }
}

/// The resident memory of process `pid`, in KiB.
public func residentKiB(_ pid: pid_t) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
}
