import Foundation

/// `virsh domstats` on a libvirt URI, asking for the same groups and flag as the broker's
/// Host.Stats (`virConnectGetAllDomainStats` with state, cpu-total, balloon, vcpu, interface and
/// block, NOWAIT).
struct VirshDomstats {
    static let executable = "/usr/bin/virsh"
    static let command = [
        "domstats", "--state", "--cpu-total", "--balloon", "--vcpu", "--interface", "--block", "--nowait",
    ]

    var uri: String

    /// One `virsh -c URI domstats ...` process, start to exit.
    func oneProcess() throws(BenchError) {
        try expectSuccess(ChildProcess(arguments: [Self.executable, "-c", uri] + Self.command).run(), "domstats")
    }

    /// One `virsh -c URI` shell session reading `commands` domstats commands from stdin, then `quit`.
    /// With 0 commands it measures what every session pays once: starting virsh and connecting.
    func session(commands: Int) throws(BenchError) {
        try expectSuccess(ChildProcess(arguments: [Self.executable, "-c", uri]).run(input: script(commands)), "session")
    }

    /// Runs the command once with its output, and checks it reports `domains` domains.
    func verify(domains: Int) throws(BenchError) {
        let outcome = try ChildProcess(arguments: [Self.executable, "-c", uri] + Self.command).run(capture: true)
        try expectSuccess(outcome, "domstats")
        let reported = outcome.output.split(separator: "\n").filter { $0.hasPrefix("Domain: ") }.count
        guard reported == domains else {
            throw BenchError(
                .measurementFailed, "virsh domstats on \(uri) reported \(reported) domains, expected \(domains)"
            )
        }
    }

    private func script(_ commands: Int) -> [UInt8] {
        let line = Self.command.joined(separator: " ") + "\n"
        return Array((String(repeating: line, count: commands) + "quit\n").utf8)
    }

    private func expectSuccess(_ outcome: ChildProcess.Outcome, _ what: String) throws(BenchError) {
        guard outcome.status == 0 else {
            throw BenchError(
                .measurementFailed, "virsh \(what) on \(uri) exited with status \(outcome.status)"
                    + (outcome.output.isEmpty ? "" : ":\n" + outcome.output)
            )
        }
    }
}
