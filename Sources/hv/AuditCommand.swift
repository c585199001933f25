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
            abstract: "Check the whole audit log's hash chain: its manifest, every sealed segment and the active one.",
            discussion: """
                Exits 1 if a line was edited, inserted or deleted, or a segment removed, reordered, replaced or cut \
                short, and says where (segment and line). Reads every segment a chunk at a time; on a terminal, \
                progress is shown on standard error once it takes more than a second.
                """
        )
        @OptionGroup var options: GlobalOptions

        @Option(help: "Verify the log at this path (its active segment; segments and manifest beside it) directly instead of asking the broker (needs read access).")
        var file: String?

        func run() throws {
            if options.explain { Runner.explainOnly(.auditVerify()) }
            let progress = VerifyProgress()
            if let file {
                guard FileManager.default.isReadableFile(atPath: file) || FileManager.default.isReadableFile(atPath: file + ".manifest") else {
                    Runner.fail(HVError(.notFound, "cannot read \(file)", fix: "check the path and your permissions"))
                }
                let result = AuditLog.verify(logAt: file) { progress.update($0.bytes, of: $0.totalBytes) }
                progress.finish()
                report(AuditVerifyReply(result))
                return
            }
            do throws(HVError) {
                let client = try VarlinkClient(socketPath: Runner.socketPath(options))
                // Streamed: the broker sends progress while it reads, so no reply timeout applies to a long history.
                let stream = try client.openStream(Method.auditVerify)
                var result: AuditVerifyReply?
                while let parameters = try stream.next() {
                    let reply: AuditVerifyReply
                    do {
                        reply = try VarlinkJSON.convert(parameters, to: AuditVerifyReply.self)
                    } catch {
                        throw HVError(.protocolError, "the broker's reply to \(Method.auditVerify) could not be read: \(error)")
                    }
                    if let update = reply.progress {
                        progress.update(update.bytes, of: update.totalBytes)
                    } else {
                        result = reply
                    }
                }
                progress.finish()
                guard let result else { throw HVError(.protocolError, "the broker ended \(Method.auditVerify) without a result") }
                report(result)
            } catch {
                progress.finish()
                Runner.fail(error)
            }
        }

        func report(_ result: AuditVerifyReply) {
            if options.json {
                Runner.printJSON(result)
            } else if result.intact {
                let segments = result.segments.map { $0 == 1 ? " in 1 segment" : " in \($0) segments" } ?? ""
                print("audit log intact: \(result.records) records\(segments), hash chain verified")
                if let retired = result.retiredSegments, retired > 0 {
                    print("  \(retired) older sealed segment\(retired == 1 ? " was" : "s were") retired by retention; the chain is verified from the first one kept")
                }
            } else {
                let place = [result.brokenAtLine.map { "at line \($0)" }, result.segment.map { "of \($0)" }].compactMap { $0 }
                print("audit log BROKEN\(place.isEmpty ? "" : " " + place.joined(separator: " ")): \(result.reason ?? "unknown")")
                print("  \(result.records) records before it verified")
            }
            if !result.intact { Foundation.exit(1) }
        }
    }
}

/// A progress bar on standard error, drawn only once a verification has taken a second (and, like
/// every `ProgressBar`, only on a terminal). Updated from the thread that verifies.
final class VerifyProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let started = ContinuousClock.now
    private var bar: ProgressBar?

    func update(_ bytes: Int, of total: Int) {
        lock.lock()
        defer { lock.unlock() }
        if bar == nil, ContinuousClock.now - started >= .seconds(1) { bar = ProgressBar(label: "verifying audit log") }
        bar?.update(received: UInt64(max(0, bytes)), total: UInt64(max(0, total)))
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        bar?.finish()
        bar = nil
    }
}
