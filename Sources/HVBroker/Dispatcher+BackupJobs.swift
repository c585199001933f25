import HVPolkit
import HVProtocol
import HVServer

/// `Backup.Jobs` shows each job to every viewer, but a last run's outcome for a machine only to
/// those polkit lets see that machine (`vm.info` with the machine's details, as for any request
/// about it; a machine gone since is judged by the group its outcome recorded). The outcomes
/// left out are counted in `hidden`.
extension Dispatcher {
    func visibleJobs(_ reply: any ResourceReply, peer: Peer) async throws(HVError) -> any ResourceReply {
        guard var jobs = reply as? BackupJobsReply else { return reply }
        var seen: [String: Bool] = [:]
        for index in jobs.jobs.indices {
            guard var run = jobs.jobs[index].lastRun else { continue }
            var visible: [BackupJobMachineOutcome] = []
            for outcome in run.machines {
                if seen[outcome.machine] == nil {
                    seen[outcome.machine] = await maySee(outcome, peer: peer)
                }
                if seen[outcome.machine] == true { visible.append(outcome) }
            }
            let hidden = run.machines.count - visible.count
            run.machines = visible
            run.hidden = hidden > 0 ? hidden : nil
            jobs.jobs[index].lastRun = run
        }
        return jobs
    }

    private func maySee(_ outcome: BackupJobMachineOutcome, peer: Peer) async -> Bool {
        let machine = try? await hypervisor.resolve(machine: outcome.machine)
        var details = machine?.details ?? MachineObject.absent(outcome.machine, ownerGroup: outcome.group)
        if machine == nil, outcome.group == nil {
            // Never a machine of the broker's: only those who see foreign domains see it.
            details["managed"] = "false"
        }
        return await authorizer.authorize(.vmInfo, peer: peer, details: details) == .allowed
    }

    /// A job's run acts on many machines under one request: beside the request's own record, each
    /// machine's outcome gets a record of its own (target `job:JOB/MACHINE`, result `ok BACKUP`
    /// or `failed CODE: REASON`), so the log says what happened to each machine.
    func recordJobMachines(_ reply: any ResourceReply, method: String, peer: Peer) async {
        guard let run = (reply as? BackupRunJobReply)?.run else { return }
        for outcome in run.machines {
            var entry = Entry(peer: peer)
            entry.method = method
            entry.action = BrokerOperation.backupRunJob.action
            entry.target = "job:\(run.job)/\(outcome.machine)"
            entry.decision = "allowed"
            entry.result = outcome.ok
                ? "ok \(outcome.backup ?? "")"
                : "failed \(outcome.code ?? HVError.Code.failed.rawValue): \(outcome.error ?? "")"
            await record(entry)
        }
    }
}
