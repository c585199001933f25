import ArgumentParser
import Foundation
import HVAudit
import HVClient
import HVPresentation
import HVProtocol

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "The broker's audit log.", subcommands: [Verify.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the audit log's hash chain; exits 1 if any line was edited, inserted or deleted."
        )
        @OptionGroup var options: GlobalOptions

        @Option(help: "Verify this log file directly instead of asking the broker (needs read access to it).")
        var file: String?

        func run() throws {
            if let file {
                if options.explain { Runner.explainOnly(.auditVerify()) }
                guard let contents = FileManager.default.contents(atPath: file) else {
                    Runner.fail(HVError(.notFound, "cannot read \(file)", fix: "check the path and your permissions"))
                }
                let result = AuditChain.verify(contents: contents, head: AuditLog.readHead(logPath: file))
                report(AuditVerifyReply(intact: result.intact, records: result.records, brokenAtLine: result.brokenAtLine, reason: result.reason))
                return
            }
            try Runner.run(options, explain: .auditVerify()) { client throws(HVError) in
                report(try client.verifyAudit())
            }
        }

        func report(_ result: AuditVerifyReply) {
            if options.json {
                Runner.printJSON(result)
            } else if result.intact {
                print("audit log intact: \(result.records) records, hash chain verified")
            } else {
                print("audit log BROKEN at line \(result.brokenAtLine ?? 0): \(result.reason ?? "unknown")")
                print("  \(result.records) records before it verified")
            }
            if !result.intact { Foundation.exit(1) }
        }
    }
}
