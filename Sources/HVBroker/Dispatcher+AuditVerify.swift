import HVAudit
import HVProtocol
import HVServer

/// `org.hypernixos.Audit.Verify` called with `"more": true`: the whole log is verified on a thread
/// of its own while replies with `progress` (bytes read of the total) keep the client informed,
/// and its connection alive however long the history; the last reply is the result.
extension Dispatcher {
    func verifyAudit(_ call: VarlinkCall, from peer: Peer, send: @Sendable ([UInt8]) async throws -> Void) async {
        var entry = Entry(peer: peer)
        guard await admitStream(call, .auditVerify, entry: &entry, send: send) != nil else { return }
        let (updates, progress) = AsyncStream.makeStream(of: AuditProgress.self, bufferingPolicy: .bufferingNewest(1))
        let audit = audit
        async let verified = {
            let result = await audit.verifyAll { progress.yield($0) }
            progress.finish()
            return result
        }()
        var listening = true
        for await update in updates where listening {
            let reply = AuditVerifyReply(progress: update)
            do {
                try await send(VarlinkJSON.reply(try Self.parameters(reply), continues: true))
            } catch {
                // The client left: the verification still runs to its end and is recorded.
                listening = false
            }
        }
        let result = await verified
        entry.result = "ok"
        await record(entry)
        guard listening, let parameters = try? Self.parameters(AuditVerifyReply(result)) else { return }
        try? await send(VarlinkJSON.reply(parameters))
    }
}
