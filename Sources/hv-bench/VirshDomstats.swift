import Foundation
import HVSystem

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
        try expectSuccess(virsh(["-c", uri] + Self.command), "domstats")
    }

    /// One `virsh -c URI` shell session reading `commands` domstats commands from stdin, then `quit`.
    /// With 0 commands it measures what every session pays once: starting virsh and connecting.
    func session(commands: Int) throws(BenchError) {
        try expectSuccess(virsh(["-c", uri], input: .bytes(script(commands))), "session")
    }

    /// Runs the command once with its output, and checks it reports `domains` domains.
    func verify(domains: Int) throws(BenchError) {
        let outcome = try virsh(["-c", uri] + Self.command, capture: true)
        try expectSuccess(outcome, "domstats")
        let reported = output(outcome).split(separator: "\n").filter { $0.hasPrefix("Domain: ") }.count
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

    /// Runs virsh to completion. Without `capture` its output goes to /dev/null, so a timed run
    /// measures virsh and not this process reading what it prints; with it, standard output and
    /// error arrive together.
    private func virsh(_ arguments: [String], input: Command.Input = .null, capture: Bool = false) throws(BenchError)
        -> ChildProcess.Outcome
    {
        let command = Command(
            Self.executable, arguments, environment: Command.currentEnvironment, standardInput: input,
            standardOutput: capture ? .capture : .discard, standardError: capture ? .standardOutput : .discard,
            ownProcessGroup: false
        )
        do {
            return try ChildProcess.run(command, outputLimit: 64 << 20)
        } catch {
            throw BenchError(.measurementFailed, error.description)
        }
    }

    private func output(_ outcome: ChildProcess.Outcome) -> String {
        String(decoding: outcome.standardOutput.bytes, as: UTF8.self)
    }

    private func expectSuccess(_ outcome: ChildProcess.Outcome, _ what: String) throws(BenchError) {
        guard outcome.termination == .exited(0) else {
            let text = output(outcome)
            throw BenchError(
                .measurementFailed, "virsh \(what) on \(uri) ended with \(outcome.termination)"
                    + (text.isEmpty ? "" : ":\n" + text)
            )
        }
    }
}
