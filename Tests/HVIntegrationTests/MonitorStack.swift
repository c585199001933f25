import Foundation
import HVTestSupport

/// A monitor under test: `hv-monitor` running as the unprivileged system user hv-monitor (a
/// viewer) against one broker's socket, with a webhook receiver for its alerts. The monitor
/// suites share one beside the broker of `Stack`; a suite with a broker of its own starts another.
final class MonitorStack: @unchecked Sendable {
    static let user = "hv-monitor"
    /// Seconds between collections: short, so a test sees several cycles.
    static let interval = 2

    let stack: Stack
    /// The broker this monitor reads.
    let brokerSocket: String
    /// Its configuration, state, control socket, token, logs and the webhooks received.
    let directory: String
    let metricsPort: Int
    var configuration: String { directory + "/monitor.yaml" }
    var controlSocket: String { directory + "/run/monitor.sock" }
    var received: String { directory + "/webhooks.jsonl" }
    var log: String { directory + "/monitor.log" }
    var metricsURL: String { "http://127.0.0.1:\(metricsPort)/metrics" }
    /// The `/metrics` token, root:hypervisor-viewers 0640 as scripts/setup.sh writes it.
    var tokenFile: String { directory + "/metrics.token" }

    /// The python3 first on PATH: the one scripts/install-deps.sh gave prometheus_client.
    let python: String

    /// The monitor of the stack's broker, which the monitor suites share.
    static let shared: Result<MonitorStack, any Error> = Result {
        let stack = try Stack.shared.get()
        return try MonitorStack(stack, brokerSocket: stack.socket, directory: stack.base + "/monitor", metricsPort: 19_478)
    }

    /// Starts a monitor of the broker at `brokerSocket` serving `/metrics` on `metricsPort`, with
    /// its files in `directory`; a monitor an earlier run left there is stopped first.
    init(_ stack: Stack, brokerSocket: String, directory: String, metricsPort: Int) throws {
        self.stack = stack
        self.brokerSocket = brokerSocket
        self.directory = directory
        self.metricsPort = metricsPort
        python = try run(["/bin/sh", "-c", "command -v python3"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard python.hasPrefix("/") else { throw SetupError("python3 is not on PATH") }
        stop()
        for owned in ["/state", "/run"] {
            try FileManager.default.createDirectory(atPath: directory + owned, withIntermediateDirectories: true)
        }
        try installFile(Environment.root + "/polkit/org.hypernixos.monitor.policy", "/usr/share/polkit-1/actions/org.hypernixos.monitor.policy")
        if try run(["/usr/bin/id", Self.user]).status != 0 {
            try check(run(["/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", Self.user]))
        }
        try check(run(["/usr/sbin/usermod", "-G", "hypervisor-viewers", Self.user]))
        try installFile(Environment.buildDirectory + "/hv-monitor", stack.bin + "/hv-monitor", mode: 0o755)

        let port = try startReceiver()
        try writeConfiguration(receiverPort: port)
        try spawn(
            ["/usr/sbin/runuser", "-u", Self.user, "--", stack.bin + "/hv-monitor", "--config", configuration], log: log
        )
        guard waitUntil(30, every: 0.2, { FileManager.default.fileExists(atPath: controlSocket) && (try? scrape()) != nil })
        else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw SetupError("hv-monitor did not come up; its log ends:\n\(text.suffix(2000))")
        }
    }

    /// Stops this monitor and its webhook receiver.
    func stop() {
        _ = try? run(["/usr/bin/pkill", "-f", "hv-monitor --config " + configuration])
        _ = try? run(["/usr/bin/pkill", "-f", "webhook-receiver.py " + received])
    }

    /// The current `/metrics` text, fetched with the token.
    func scrape() throws -> String {
        let reply = try fetch(tokenFile: tokenFile)
        guard reply.status == 200 else { throw SetupError("scrape failed: HTTP \(reply.status) \(reply.body)") }
        return reply.body
    }

    /// `GET /metrics` as `user` (root when nil), sending the token that user reads from
    /// `tokenFile` as a bearer token, or no credentials when nil.
    func fetch(as user: String? = nil, tokenFile: String?) throws -> (status: Int, body: String) {
        let script = """
            import sys, urllib.error, urllib.request
            request = urllib.request.Request(sys.argv[1])
            if len(sys.argv) > 2:
                with open(sys.argv[2]) as f:
                    request.add_header("Authorization", "Bearer " + f.read().strip())
            try:
                with urllib.request.urlopen(request, timeout=5) as reply:
                    status, body = reply.status, reply.read()
            except urllib.error.HTTPError as error:
                status, body = error.code, error.read()
            sys.stdout.write(f"{status}\\n" + body.decode())
            """
        // Another user can't reach root's python (it may live under /root): the system's, which needs no extra modules here.
        let interpreter = user == nil ? python : "/usr/bin/python3"
        let output = try run([interpreter, "-c", script, metricsURL] + (tokenFile.map { [$0] } ?? []), as: user)
        let lines = output.stdout.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        guard output.status == 0, let status = lines.first.flatMap({ Int($0) }) else {
            throw SetupError("GET \(metricsURL) failed: \(output)")
        }
        return (status, lines.count > 1 ? String(lines[1]) : "")
    }

    /// One sample's value, read with the Prometheus reference parser (prometheus_client).
    func value(_ name: String, labels: [String: String] = [:]) throws -> Double? {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            wanted, labels = sys.argv[1], json.loads(sys.argv[2])
            for family in text_string_to_metric_families(sys.stdin.read()):
                for sample in family.samples:
                    if sample.name == wanted and all(sample.labels.get(k) == v for k, v in labels.items()):
                        print(sample.value)
                        sys.exit(0)
            sys.exit(3)
            """
        let text = try scrape()
        let file = directory + "/scrape.txt"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let labelJSON = String(decoding: try JSONSerialization.data(withJSONObject: labels), as: UTF8.self)
        let output = try run(["/bin/sh", "-c", "exec \"$4\" -c \"$0\" \"$1\" \"$2\" < \"$3\"", script, name, labelJSON, file, python])
        switch output.status {
        case 0: return Double(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        case 3: return nil
        default: throw SetupError("the Prometheus parser rejected the scrape: \(output.stderr)")
        }
    }

    /// Runs `hv` as a user against this monitor and its broker.
    func hv(_ arguments: [String], as user: String) throws -> Output {
        try run(
            [stack.bin + "/hv"] + arguments, as: user,
            environment: ["HV_SOCKET": brokerSocket, "HV_MONITOR_SOCKET": controlSocket]
        )
    }

    /// The webhook bodies received so far.
    func webhooks() -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: received, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    private func startReceiver() throws -> Int {
        let portFile = directory + "/receiver.port"
        try? FileManager.default.removeItem(atPath: portFile)
        try? FileManager.default.removeItem(atPath: received)
        try spawn(
            [python, Environment.root + "/Tests/Fixtures/webhook-receiver.py", received, portFile],
            log: directory + "/receiver.log"
        )
        guard waitUntil(10, every: 0.1, { FileManager.default.fileExists(atPath: portFile) }),
            let port = Int((try? String(contentsOfFile: portFile, encoding: .utf8)) ?? "")
        else { throw SetupError("the webhook receiver did not start") }
        return port
    }

    private func writeConfiguration(receiverPort port: Int) throws {
        let yaml = """
            broker_socket: \(brokerSocket)
            control_socket: \(controlSocket)
            listen: 127.0.0.1:\(metricsPort)
            web: {bearer_token_file: \(tokenFile)}
            interval: \(Self.interval)s
            health_interval: 10s
            state_directory: \(directory)/state
            alerting:
              channels:
                - {name: hook, type: webhook, url: "http://127.0.0.1:\(port)/generic"}
                - {name: chat, type: slack, url: "http://127.0.0.1:\(port)/slack"}
              routes:
                critical: [hook, chat]
              delivery: {attempts: 2, base_delay: 1s}
            """
        try yaml.write(toFile: configuration, atomically: true, encoding: .utf8)
        try check(run(["/bin/chmod", "-R", "a+rX", directory]))
        try check(run(["/bin/chown", "-R", "\(Self.user):\(Self.user)", directory + "/state", directory + "/run"]))
        // After the chmod above: the token is for hypervisor-viewers (the monitor is one) alone.
        let token = (0..<32).map { _ in String(UInt8.random(in: 0x10...0xFF), radix: 16) }.joined()
        try? FileManager.default.removeItem(atPath: tokenFile)
        let written = FileManager.default.createFile(
            atPath: tokenFile, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        guard written else { throw SetupError("cannot write \(tokenFile)") }
        try check(run(["/bin/chown", "root:hypervisor-viewers", tokenFile]))
        try check(run(["/bin/chmod", "0640", tokenFile]))
    }

    private func check(_ output: Output) throws {
        guard output.status == 0 else { throw SetupError("setup command failed: \(output)") }
    }
}

/// Runs a test body with the shared monitor, set up on first use.
func withMonitor(_ body: (MonitorStack) throws -> Void) throws {
    try body(try MonitorStack.shared.get())
}
