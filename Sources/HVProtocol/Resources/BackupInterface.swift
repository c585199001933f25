/// The Varlink definition of the backup interface.
extension Interfaces {
    public static let backup = "org.hypernixos.Backup"

    static let backupDescription = """
        # Backups of machines into the repositories the administrator configured
        # (/etc/hypernixos/backup.yaml). Clients name repositories, never paths; repository may be
        # left out when only one is configured. Sizes are bytes; times are seconds since 1970.
        interface org.hypernixos.Backup

        # How far a long job got: bytes done, of total when known, and what it is doing.
        type Progress (done: int, total: ?int, phase: ?string)

        # problems: for a failure, the first bad or missing chunks, by backup, disk and chunk.
        type Verification (time: int, ok: bool, chunks: int, bad: int, missing: int, problems: ?[]string)

        # signal: "guest agent" or "console: MARKER"; problem: what failed.
        type BootTest (time: int, ok: bool, signal: ?string, seconds: float, problem: ?string)

        # bytesRead: what was read from the disk; bytesStored: chunks this backup stored first.
        type Disk (target: string, size: int, bytesRead: int, bytesStored: int, verification: ?Verification)

        # parent is the backup this one is incremental to, absent for a full one; group is the
        # group the machine was charged to, from the record the backup keeps.
        type Backup (
          id: string,
          repository: string,
          machine: string,
          group: ?string,
          time: int,
          parent: ?string,
          frozen: bool,
          disks: []Disk,
          bootTest: ?BootTest,
          status: string
        )

        # The newest backup the broker tried of a machine into a repository; code and reason for
        # a failure, backup for a success.
        type Attempt (
          repository: string,
          machine: string,
          time: int,
          ok: bool,
          backup: ?string,
          code: ?string,
          reason: ?string,
          seconds: float,
          lastSuccessSeconds: ?float
        )

        type Check (backup: string, time: int, ok: bool)

        type MachineStatus (
          repository: string,
          machine: string,
          newest: ?Backup,
          lastAttempt: ?Attempt,
          lastVerification: ?Check,
          lastBootTest: ?Check
        )

        # Reads every disk of the machine, running (a pull-mode backup job with a checkpoint,
        # incremental since the machine's newest backup in the repository when that checkpoint is
        # still there) or stopped (qemu-nbd), into the repository, with the machine's record and
        # domain XML. Called with "more": true, the replies before the last carry only progress.
        # One backup of a machine at a time; the backup stops, leaving nothing, when the caller
        # disconnects. polkit action: org.hypernixos.backup.create
        method Create(machine: string, repository: ?string) -> (backup: ?Backup, progress: ?Progress)

        # polkit action: org.hypernixos.backup.list
        method List(repository: ?string, machine: ?string) -> (repository: string, repositories: []string, backups: []Backup)

        # polkit action: org.hypernixos.backup.show
        method Show(repository: ?string, id: string) -> (backup: Backup)

        # Reads every chunk the backup references back and checks its hash; the result is kept
        # with the backup. Called with "more": true, progress replies come first.
        # polkit action: org.hypernixos.backup.verify
        method Verify(repository: ?string, id: string) -> (
          backup: ?Backup, ok: ?bool, chunksChecked: ?int, bytesChecked: ?int, problems: ?[]string, progress: ?Progress
        )

        # A new machine `name` from the backup: new volumes in pool (the broker's own pool when
        # absent; another only when the host policy allows it) written from the backup, defined
        # from the backup's record with a new UUID and new MAC addresses, checked and charged
        # like Vm.Create to the group the backed-up machine belonged to. Nothing is left when it
        # fails. polkit action: org.hypernixos.backup.restore
        # With inPlace (and no name or pool): the backup's disks (those targets only, when disks
        # is given) written over the disks of the machine the backup is of, which must exist, be
        # managed by the broker, be shut off, have no snapshots and be charged to the backup's
        # group (polkit is asked about the backup and about the machine, with in_place "true").
        # Each disk is written into a new volume first and the new volumes replace the old ones
        # only when all are written; on failure the machine's disks are as they were. The
        # machine's checkpoints are removed (checkpointsRemoved; the next backup is a full one);
        # its definition and record are not changed.
        method Restore(repository: ?string, id: string, name: ?string, pool: ?string, inPlace: ?bool, disks: ?[]string) -> (
          name: ?string, uuid: ?string, volumes: ?[]string, bytesRestored: ?int, checkpointsRemoved: ?int, progress: ?Progress
        )

        # Restores the backup like Restore into a scratch machine of the broker's (a name beginning
        # hv-boottest-, the broker's own pool, charged to the backed-up machine's group while the
        # test runs) with no network interface and its serial console logged, starts it and waits
        # up to timeout seconds (default 300, 10 to 1800) for the guest agent to answer or marker
        # (default "login:", printable ASCII) to appear on its serial console; then the machine is
        # powered off and removed with its disks, whatever happened. The result is kept with the
        # backup; a failure marks it bad. The original machine is never touched.
        # polkit action: org.hypernixos.backup.boot-test
        method BootTest(repository: ?string, id: string, marker: ?string, timeout: ?int) -> (
          backup: ?Backup, test: ?BootTest, progress: ?Progress
        )

        # Each machine's newest backup, newest attempt and newest checks, in every repository or
        # the one named. polkit action: org.hypernixos.backup.status
        method Status(repository: ?string) -> (repositories: []string, machines: []MachineStatus)

        # polkit action: org.hypernixos.backup.delete
        method Delete(repository: ?string, id: string) -> ()

        # At least one rule; a backup kept by any rule is kept.
        type Retention (
          keepLast: ?int, keepHourly: ?int, keepDaily: ?int, keepWeekly: ?int, keepMonthly: ?int, keepYearly: ?int
        )

        # rules: the rules that keep the backup ("daily", "oldest weekly"); empty when removed.
        type PruneDecision (id: string, machine: string, time: int, kept: bool, rules: []string)

        # Applies the retention to each machine's backups (machine's only, when named), removes the
        # backups it keeps for no rule, then removes the chunks no backup uses any more; a chunk a
        # backup being written may use is never removed. dryRun only decides. Called with
        # "more": true, progress replies come first. polkit action: org.hypernixos.backup.prune
        method Prune(repository: ?string, machine: ?string, retention: Retention, dryRun: ?bool) -> (
          repository: ?string, dryRun: ?bool, backups: ?[]PruneDecision, chunksRemoved: ?int, bytesRemoved: ?int,
          progress: ?Progress
        )

        # One machine's part of a job's run: its backup, or the error (and its code) that stopped it.
        type JobMachine (
          machine: string, group: ?string, ok: bool, backup: ?string, bytesRead: ?int, bytesStored: ?int,
          removed: ?int, verified: ?bool, bootTest: ?bool, error: ?string, code: ?string
        )

        # hidden: outcomes of machines the caller may not see, left out.
        type JobRun (job: string, started: int, ended: int, machines: []JobMachine, hidden: ?int)

        # Runs a job of the backup configuration now: each machine it selects is backed up in turn
        # (as Create does), then the job's retention is applied to that machine's backups, then its
        # newest backup is verified, then boot-tested (as BootTest does), when the job's verify and
        # boot_test intervals say so. One machine's failure does not stop the others. A second run
        # of a job while one runs is refused. Called with "more": true, progress replies come
        # first. polkit action: org.hypernixos.backup.run-job
        method RunJob(job: string) -> (run: ?JobRun, progress: ?Progress)

        # nextRun: from the schedule (systemd calendar syntax), absent with nextRunReason when it
        # can't be computed; due: the schedule's next time after the last run's start has passed.
        type Job (
          name: string,
          repository: string,
          schedule: string,
          names: []string,
          tags: []string,
          all: bool,
          verify: string,
          retention: ?Retention,
          nextRun: ?int,
          nextRunReason: ?string,
          due: bool,
          running: bool,
          lastRun: ?JobRun
        )

        # The jobs of the backup configuration; a last run shows only the machines the caller may
        # see. polkit action: org.hypernixos.backup.jobs
        method Jobs() -> (jobs: []Job)
        """ + resourceErrors + commonErrors
}
