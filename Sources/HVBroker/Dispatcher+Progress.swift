import HVProtocol
import HVServer
import HVWork

/// Calls that start a long job (`Iso.Verify`, `Backup.Create`, `Backup.Verify`, `Backup.Restore`,
/// `Backup.Prune`, `Backup.RunJob`, `Backup.BootTest`): answered in the connection's own task, so that a
/// caller who disconnects cancels its job, and, for a Varlink `more` call, with progress replies
/// before the result.
extension Dispatcher {
    /// The shortest time between two progress replies.
    static let progressInterval: Duration = .milliseconds(250)

    func answerJob(_ call: VarlinkCall, from peer: Peer, send: @Sendable ([UInt8]) async throws -> Void) async {
        guard call.more == true else {
            // Not a detached task (unlike `answerOnce`): the connection's cancellation reaches the job.
            if let reply = await handle(call, from: peer) { try? await send(reply) }
            return
        }
        // Only the newest progress is kept: a client that reads slowly gets fewer replies, never a backlog.
        let (updates, listener) = AsyncStream.makeStream(of: JobProgress.self, bufferingPolicy: .bufferingNewest(1))
        await withoutActuallyEscaping(send) { send in
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await update in updates {
                        let bytes = VarlinkJSON.reply(Self.progressParameters(update), continues: true)
                        guard (try? await send(bytes)) != nil else { return }
                        try? await Task.sleep(for: Self.progressInterval)
                    }
                }
                let reply = await WorkPool.$progress.withValue({ listener.yield($0) }) {
                    await handle(call, from: peer)
                }
                listener.finish()
                await group.waitForAll()
                if let reply { try? await send(reply) }
            }
        }
    }

    static func progressParameters(_ progress: JobProgress) -> EncodedParameters {
        let reply = ProgressReply(
            progress: WorkProgress(
                done: Int64(clamping: progress.done), total: progress.total.map { Int64(clamping: $0) }, phase: progress.phase
            )
        )
        return (try? EncodedParameters(reply)) ?? .none
    }
}
