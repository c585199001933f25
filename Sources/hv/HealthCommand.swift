import ArgumentParser
import Foundation
import HVClient
import HVHealth
import HVPresentation
import HVProtocol

struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check the broker, libvirtd, KVM, polkit, storage pools, networks, bridges, autostart machines, the clock and the audit log.",
        discussion: """
            Prints each check's status and measured value, then what each check that is not ok means \
            and how to fix it. Needs the org.hypernixos.host.health action (hypervisor-viewers).

            Exit status: 0 when every check is ok or a warning; 1 when any is critical or unknown; \
            4 when polkit denied you the broker's checks (the broker line names the group to join).
            """
    )
    @OptionGroup var options: GlobalOptions

    func run() throws {
        if options.explain { Runner.explainOnly(.health()) }
        let report = HealthRunner(brokerSocket: Runner.socketPath(options)).run()
        if options.json {
            Runner.printJSON(report.checks)
        } else {
            print(Self.render(report.checks))
        }
        if let denial = report.brokerError, denial.code == .permissionDenied { Runner.fail(denial) }
        if report.status >= .critical { Foundation.exit(1) }
    }

    /// The table, then an explanation and a fix for each check that is not ok.
    static func render(_ checks: [HealthCheck]) -> String {
        var table = Table("STATUS", "CHECK", "VALUE")
        for check in checks { table.add(check.status.rawValue.uppercased(), check.id, check.value) }
        var text = table.render()
        let problems = checks.filter { $0.status != .ok }
        // Checks that failed for one reason (all unknown because the broker did not answer) are told once.
        var groups: [(ids: [String], check: HealthCheck)] = []
        for check in problems {
            if let index = groups.firstIndex(where: {
                $0.check.status == check.status && $0.check.explanation == check.explanation && $0.check.fix == check.fix
            }) {
                groups[index].ids.append(check.id)
            } else {
                groups.append(([check.id], check))
            }
        }
        for (ids, check) in groups {
            text += "\n\n\(check.status.rawValue) \(ids.joined(separator: ", ")): \(check.explanation)"
            if let fix = check.fix { text += "\n  fix: \(fix)" }
        }
        text += "\n\n" + (problems.isEmpty ? "all \(checks.count) checks ok" : "overall: \(checks.overallStatus.rawValue)")
        return text
    }
}
