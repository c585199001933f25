import HVAlerting
import HVProtocol
import Testing

func cpu(_ value: Double) -> AlertInput {
    AlertInput(samples: [MetricSample(name: "hv_host_cpu_usage_ratio", value: value)])
}

func domain(_ name: String, _ state: String, _ reason: String) -> DomainStats {
    DomainStats(
        name: name, uuid: "00000000-0000-0000-0000-000000000001", state: state, stateReason: reason, autostart: true,
        vcpus: 1, cpuTimeNs: nil, memoryMaxKiB: 1_024, memoryCurrentKiB: nil, memoryRssKiB: nil, memoryUsableKiB: nil,
        disks: [], interfaces: [])
}

let cpuRule = AlertRule(
    name: "host-cpu-high", severity: .warning, summary: "CPU {value}",
    condition: .threshold(.init(metric: "hv_host_cpu_usage_ratio", comparison: .above, threshold: 0.9, resolve: 0.8)),
    forSeconds: 300, cooldownSeconds: 1_800)

@Suite struct EngineTests {
    @Test func firesOnlyAfterTheConditionHeldForItsDuration() {
        var engine = AlertEngine(rules: [cpuRule])
        #expect(engine.evaluate(cpu(0.95), now: 1_000).notifications.isEmpty)
        #expect(engine.evaluate(cpu(0.95), now: 1_200).notifications.isEmpty)
        let fired = engine.evaluate(cpu(0.95), now: 1_300)
        #expect(fired.notifications.map(\.kind) == [.firing])
        #expect(fired.notifications.first?.key == "host-cpu-high")
        #expect(fired.notifications.first?.summary == "CPU 95%")
        #expect(fired.active.map(\.since) == [1_000])
    }

    @Test func aDipRestartsTheWait() {
        var engine = AlertEngine(rules: [cpuRule])
        _ = engine.evaluate(cpu(0.95), now: 1_000)
        _ = engine.evaluate(cpu(0.5), now: 1_100)
        #expect(engine.evaluate(cpu(0.95), now: 1_300).notifications.isEmpty)
        #expect(engine.evaluate(cpu(0.95), now: 1_600).notifications.count == 1)
    }

    @Test func aKeyThatKeepsFiringNotifiesOnce() {
        var engine = AlertEngine(rules: [cpuRule])
        var sent = 0
        for step in 0..<20 { sent += engine.evaluate(cpu(0.99), now: Double(step * 60)).notifications.count }
        #expect(sent == 1)
        #expect(engine.evaluate(cpu(0.99), now: 5_000).active.count == 1)
    }

    @Test func hysteresisResolvesOnlyAtOrBelowResolveBelow() {
        var engine = AlertEngine(rules: [AlertRule(
            name: "cpu", severity: .warning, summary: "s",
            condition: .threshold(.init(metric: "hv_host_cpu_usage_ratio", comparison: .above, threshold: 0.9, resolve: 0.8)))])
        #expect(engine.evaluate(cpu(0.95), now: 0).notifications.map(\.kind) == [.firing])
        #expect(engine.evaluate(cpu(0.85), now: 60).notifications.isEmpty)
        #expect(engine.evaluate(cpu(0.85), now: 60).active.count == 1)
        let resolved = engine.evaluate(cpu(0.8), now: 120)
        #expect(resolved.notifications.map(\.kind) == [.resolved])
        #expect(resolved.active.isEmpty)
    }

    @Test func belowThresholdWithDefaultResolve() {
        var engine = AlertEngine(rules: [AlertRule(
            name: "broker", severity: .critical, summary: "down",
            condition: .threshold(.init(metric: "hv_monitor_broker_up", comparison: .below, threshold: 1)))])
        let up = { (value: Double) in AlertInput(samples: [MetricSample(name: "hv_monitor_broker_up", value: value)]) }
        #expect(engine.evaluate(up(1), now: 0).notifications.isEmpty)
        #expect(engine.evaluate(up(0), now: 10).notifications.map(\.kind) == [.firing])
        #expect(engine.evaluate(up(1), now: 20).notifications.map(\.kind) == [.resolved])
    }

    @Test func reFireInsideTheCooldownIsHeldAndNotifiedWhenItEnds() {
        var engine = AlertEngine(rules: [AlertRule(
            name: "cpu", severity: .warning, summary: "s",
            condition: .threshold(.init(metric: "hv_host_cpu_usage_ratio", comparison: .above, threshold: 0.9)),
            cooldownSeconds: 600)])
        #expect(engine.evaluate(cpu(0.95), now: 0).notifications.map(\.kind) == [.firing])
        #expect(engine.evaluate(cpu(0.5), now: 60).notifications.map(\.kind) == [.resolved])
        let refire = engine.evaluate(cpu(0.95), now: 120)
        #expect(refire.notifications.isEmpty)
        #expect(refire.held.map(\.hold) == [.coolingDown(until: 600)])
        #expect(refire.active.count == 1)
        // Still firing, still cooling down: nothing, and the hold is reported only once.
        let again = engine.evaluate(cpu(0.95), now: 300)
        #expect(again.notifications.isEmpty && again.held.isEmpty)
        // A held firing that resolves sends nothing: nothing was sent for it.
        #expect(engine.evaluate(cpu(0.5), now: 400).notifications.isEmpty)
        // Fires again after the cooldown: notified.
        #expect(engine.evaluate(cpu(0.95), now: 700).notifications.map(\.kind) == [.firing])
    }

    @Test func stillFiringWhenTheCooldownEndsIsNotified() {
        var engine = AlertEngine(rules: [AlertRule(
            name: "cpu", severity: .warning, summary: "s",
            condition: .threshold(.init(metric: "hv_host_cpu_usage_ratio", comparison: .above, threshold: 0.9)),
            cooldownSeconds: 600)])
        _ = engine.evaluate(cpu(0.95), now: 0)
        _ = engine.evaluate(cpu(0.5), now: 60)
        #expect(engine.evaluate(cpu(0.95), now: 120).notifications.isEmpty)
        #expect(engine.evaluate(cpu(0.95), now: 599).notifications.isEmpty)
        #expect(engine.evaluate(cpu(0.95), now: 600).notifications.map(\.kind) == [.firing])
    }

    @Test func oneAlertPerLabelSetWithSortedKeys() {
        var engine = AlertEngine(rules: [AlertRule(
            name: "fs", severity: .warning, summary: "{mountpoint} is {value} full",
            condition: .threshold(.init(metric: "hv_host_filesystem_used_ratio", comparison: .above, threshold: 0.9)))])
        let input = AlertInput(samples: [
            MetricSample(name: "hv_host_filesystem_used_ratio", labels: ["mountpoint": "/", "device": "sda1"], value: 0.95),
            MetricSample(name: "hv_host_filesystem_used_ratio", labels: ["mountpoint": "/var", "device": "sda2"], value: 0.5),
            MetricSample(name: "hv_host_filesystem_used_ratio", labels: ["mountpoint": "/srv", "device": "sdb"], value: 0.97),
        ])
        let result = engine.evaluate(input, now: 0)
        #expect(result.notifications.map(\.key) == [#"fs{device="sda1",mountpoint="/"}"#, #"fs{device="sdb",mountpoint="/srv"}"#])
        #expect(result.notifications.map(\.summary) == ["/ is 95% full", "/srv is 97% full"])
    }

    @Test func labelMatcherSelectsSeries() {
        var engine = AlertEngine(rules: [AlertRule(
            name: "web1-cpu", severity: .info, summary: "s",
            condition: .threshold(.init(metric: "hv_vm_cpu_usage_ratio", labels: ["vm": "web1"], comparison: .above, threshold: 0.5)))])
        let input = AlertInput(samples: [
            MetricSample(name: "hv_vm_cpu_usage_ratio", labels: ["vm": "web1"], value: 0.9),
            MetricSample(name: "hv_vm_cpu_usage_ratio", labels: ["vm": "db1"], value: 0.9),
        ])
        #expect(engine.evaluate(input, now: 0).notifications.map(\.key) == [#"web1-cpu{vm="web1"}"#])
    }

    @Test func summaryPlaceholdersAreSubstitutedPlainly() {
        var engine = AlertEngine(rules: [AlertRule(
            name: "vm", severity: .info, summary: "{vm} {missing} {",
            condition: .threshold(.init(metric: "hv_vm_up", comparison: .below, threshold: 1)))])
        let input = AlertInput(samples: [MetricSample(name: "hv_vm_up", labels: ["vm": "{value}$(reboot)"], value: 0)])
        #expect(engine.evaluate(input, now: 0).notifications.first?.summary == "{value}$(reboot) {missing} {")
    }

    @Test func silencedAlertsAreTrackedButNotSent() throws {
        var engine = AlertEngine(rules: [AlertRule(
            name: "fs", severity: .warning, summary: "s",
            condition: .threshold(.init(metric: "hv_host_filesystem_used_ratio", comparison: .above, threshold: 0.9)))])
        let input = AlertInput(samples: [
            MetricSample(name: "hv_host_filesystem_used_ratio", labels: ["mountpoint": "/"], value: 0.95),
            MetricSample(name: "hv_host_filesystem_used_ratio", labels: ["mountpoint": "/srv"], value: 0.95),
        ])
        let silence = AlertSilence(id: 1, matcher: #"fs{mountpoint="/srv"}"#, until: 1_000, createdBy: "ops", comment: "disk swap")
        let result = engine.evaluate(input, now: 0, silences: [silence])
        #expect(result.notifications.map(\.key) == [#"fs{mountpoint="/"}"#])
        #expect(result.held.map(\.hold) == [.silenced(until: 1_000)])
        #expect(result.active.map(\.silencedUntil) == [nil, 1_000])
        // Once the silence ends, the still-firing alert is notified.
        #expect(engine.evaluate(input, now: 1_000, silences: [silence]).notifications.map(\.key) == [#"fs{mountpoint="/srv"}"#])
    }

    @Test func silenceByRuleNameCoversEveryKey() {
        var engine = AlertEngine(rules: [cpuRule])
        let silence = AlertSilence(id: 1, matcher: "host-cpu-high", until: 10_000, createdBy: "ops", comment: "")
        _ = engine.evaluate(cpu(0.95), now: 0, silences: [silence])
        let result = engine.evaluate(cpu(0.95), now: 300, silences: [silence])
        #expect(result.notifications.isEmpty)
        #expect(result.active.first?.silencedUntil == 10_000)
    }

    @Test func healthChecksFireAndResolvePerCheck() {
        var engine = AlertEngine(rules: [AlertRule(
            name: "pools", severity: .warning, summary: "{title}: {value}",
            condition: .health(.init(check: "pool:", statuses: [.warning, .critical])))])
        let checks = { (status: HealthStatus) in
            AlertInput(healthChecks: [
                HealthCheck(id: "pool:default", title: "Pool default", status: status, value: "5% free", explanation: "", fix: nil),
                HealthCheck(id: "kvm", title: "KVM", status: .critical, value: "missing", explanation: "", fix: nil),
            ])
        }
        let fired = engine.evaluate(checks(.warning), now: 0)
        #expect(fired.notifications.map(\.key) == [#"pools{check="pool:default"}"#])
        #expect(fired.notifications.first?.summary == "Pool default: 5% free")
        #expect(engine.evaluate(checks(.ok), now: 60).notifications.map(\.kind) == [.resolved])
    }

    @Test func absentSeriesKeepsStateThenResolves() {
        var engine = AlertEngine(rules: [AlertRule(
            name: "cpu", severity: .warning, summary: "s",
            condition: .threshold(.init(metric: "hv_host_cpu_usage_ratio", comparison: .above, threshold: 0.9)))],
            absentResolveSeconds: 600)
        _ = engine.evaluate(cpu(0.95), now: 0)
        #expect(engine.evaluate(AlertInput(), now: 300).active.count == 1)
        #expect(engine.evaluate(AlertInput(), now: 600).notifications.map(\.kind) == [.resolved])
    }

    @Test func restoredStateDoesNotNotifyAgain() {
        var first = AlertEngine(rules: [cpuRule])
        _ = first.evaluate(cpu(0.95), now: 0)
        #expect(first.evaluate(cpu(0.95), now: 300).notifications.count == 1)
        var restarted = AlertEngine(rules: [cpuRule], states: Array(first.states.values))
        #expect(restarted.evaluate(cpu(0.95), now: 360).notifications.isEmpty)
        #expect(restarted.evaluate(cpu(0.5), now: 420).notifications.map(\.kind) == [.resolved])
    }
}

@Suite struct VMEventTests {
    let rule = AlertRule(
        name: "vm-stopped-unexpectedly", severity: .critical, summary: "VM {vm} stopped unexpectedly",
        condition: .event(.init(event: .vmStoppedUnexpectedly, resolveAfterSeconds: 3_600)))

    /// libvirt reports a QEMU process killed with SIGKILL as `shut off (crashed)` (checked with
    /// `virsh domstate --reason` after `kill -9` of the VM's QEMU).
    @Test func sigkilledQemuIsAnUnexpectedStop() {
        let stops = VMEvents.occurrences(
            of: .vmStoppedUnexpectedly, previous: [domain("web1", "running", "booted")],
            current: [domain("web1", "shutoff", "crashed")])
        #expect(stops == ["web1"])
        #expect(
            VMEvents.occurrences(
                of: .vmCrashed, previous: [domain("web1", "running", "booted")], current: [domain("web1", "shut off", "crashed")])
                == ["web1"])
    }

    @Test(arguments: ["shutdown", "destroyed", "saved", "migrated", "from-snapshot"])
    func orderlyStopsAreNotEvents(reason: String) {
        #expect(
            VMEvents.occurrences(
                of: .vmStoppedUnexpectedly, previous: [domain("web1", "running", "booted")],
                current: [domain("web1", "shutoff", reason)]).isEmpty)
    }

    @Test(arguments: ["failed", "daemon", "unknown"])
    func otherStopReasonsAreUnexpected(reason: String) {
        #expect(
            VMEvents.occurrences(
                of: .vmStoppedUnexpectedly, previous: [domain("web1", "paused", "user")],
                current: [domain("web1", "shutoff", reason)]) == ["web1"])
    }

    /// The broker deletes only stopped machines, so a machine that is gone was deleted on purpose:
    /// `hv vm kill` then `hv vm delete` inside one interval leaves nothing but its absence to see.
    @Test func aMachineThatIsGoneDidNotStopUnexpectedly() {
        for before in [domain("a", "running", "booted"), domain("a", "shutoff", "shutdown")] {
            #expect(VMEvents.occurrences(of: .vmStoppedUnexpectedly, previous: [before], current: []).isEmpty)
            #expect(VMEvents.occurrences(of: .vmCrashed, previous: [before], current: []).isEmpty)
        }
        #expect(VMEvents.occurrences(of: .vmStoppedUnexpectedly, previous: nil, current: []).isEmpty)
    }

    @Test func killThenDeleteFiresNothingWhetherOrNotACycleSawTheStop() {
        let running = [domain("web1", "running", "booted")]
        let killed = [domain("web1", "shutoff", "destroyed")]
        var seenStopped = AlertEngine(rules: [rule])
        _ = seenStopped.evaluate(AlertInput(domains: running), now: 0)
        let stop = seenStopped.evaluate(AlertInput(domains: killed, previousDomains: running), now: 15)
        let gone = seenStopped.evaluate(AlertInput(domains: [], previousDomains: killed), now: 30)
        #expect(stop.notifications.isEmpty && stop.held.isEmpty && gone.notifications.isEmpty && gone.active.isEmpty)

        var oneInterval = AlertEngine(rules: [rule])
        _ = oneInterval.evaluate(AlertInput(domains: running), now: 0)
        let both = oneInterval.evaluate(AlertInput(domains: [], previousDomains: running), now: 15)
        #expect(both.notifications.isEmpty && both.held.isEmpty && both.active.isEmpty)
    }

    @Test func eventAlertFiresAndResolvesWhenRunningAgain() {
        var engine = AlertEngine(rules: [rule])
        let running = [domain("web1", "running", "booted"), domain("db1", "running", "booted")]
        let crashed = [domain("web1", "shutoff", "crashed"), domain("db1", "running", "booted")]
        #expect(engine.evaluate(AlertInput(domains: running, previousDomains: nil), now: 0).notifications.isEmpty)
        let fired = engine.evaluate(AlertInput(domains: crashed, previousDomains: running), now: 10)
        #expect(fired.notifications.map(\.key) == [#"vm-stopped-unexpectedly{vm="web1"}"#])
        #expect(fired.notifications.first?.summary == "VM web1 stopped unexpectedly")
        // Still stopped: stays active, no repeat.
        let still = engine.evaluate(AlertInput(domains: crashed, previousDomains: crashed), now: 20)
        #expect(still.notifications.isEmpty && still.active.count == 1)
        // Broker unreachable for a cycle: nothing changes.
        #expect(engine.evaluate(AlertInput(domains: nil, previousDomains: crashed), now: 30).active.count == 1)
        let back = engine.evaluate(AlertInput(domains: running, previousDomains: crashed), now: 40)
        #expect(back.notifications.map(\.kind) == [.resolved])
    }

    @Test func eventAlertResolvesAfterResolveAfter() {
        var engine = AlertEngine(rules: [rule])
        let running = [domain("web1", "running", "booted")]
        let crashed = [domain("web1", "shutoff", "crashed")]
        let stillCrashed = AlertInput(domains: crashed, previousDomains: crashed)
        _ = engine.evaluate(AlertInput(domains: crashed, previousDomains: running), now: 0)
        #expect(engine.evaluate(stillCrashed, now: 3_599).notifications.isEmpty)
        let resolved = engine.evaluate(stillCrashed, now: 3_600)
        #expect(resolved.notifications.map(\.kind) == [.resolved])
    }
}

/// Alerts about a machine, pool or network that no longer exists resolve in the first cycle that
/// knows it is gone, and say so.
@Suite struct GoneObjectTests {
    let stopped = AlertRule(
        name: "vm-stopped-unexpectedly", severity: .critical, summary: "VM {vm} stopped unexpectedly",
        condition: .event(.init(event: .vmStoppedUnexpectedly, resolveAfterSeconds: 86_400)))
    let running = [domain("web1", "running", "booted"), domain("db1", "running", "booted")]
    let crashed = [domain("web1", "shutoff", "crashed"), domain("db1", "running", "booted")]
    let deleted = [domain("db1", "running", "booted")]
    var crash: AlertInput { AlertInput(domains: crashed, previousDomains: running) }
    var deletion: AlertInput { AlertInput(domains: deleted, previousDomains: crashed) }
    var afterwards: AlertInput { AlertInput(domains: deleted, previousDomains: deleted) }

    @Test func aFiringAlertForADeletedMachineResolvesSayingWhy() {
        var engine = AlertEngine(rules: [stopped])
        _ = engine.evaluate(AlertInput(domains: running), now: 0)
        #expect(engine.evaluate(crash, now: 15).notifications.count == 1)
        let gone = engine.evaluate(deletion, now: 30)
        #expect(gone.notifications.map(\.kind) == [.resolved])
        #expect(gone.notifications.first?.key == #"vm-stopped-unexpectedly{vm="web1"}"#)
        #expect(gone.notifications.first?.reason == "vm web1 no longer exists")
        #expect(gone.active.isEmpty)
        // Nothing more for it, not a day later either.
        #expect(engine.evaluate(afterwards, now: 90_000).notifications.isEmpty)
    }

    @Test func anUnreachableBrokerIsNotADeletion() {
        var engine = AlertEngine(rules: [stopped])
        _ = engine.evaluate(AlertInput(domains: running), now: 0)
        _ = engine.evaluate(crash, now: 15)
        let blind = engine.evaluate(AlertInput(domains: nil, previousDomains: crashed), now: 30)
        #expect(blind.notifications.isEmpty && blind.active.count == 1)
    }

    @Test func aSilencedAlertForADeletedMachineDoesNotFireWhenTheSilenceEnds() {
        var engine = AlertEngine(rules: [stopped])
        let silence = AlertSilence(
            id: 1, matcher: #"vm-stopped-unexpectedly{vm="web1"}"#, until: 600, createdBy: "ops", comment: "")
        _ = engine.evaluate(AlertInput(domains: running), now: 0, silences: [silence])
        let held = engine.evaluate(crash, now: 15, silences: [silence])
        #expect(held.notifications.isEmpty && held.held.map(\.kind) == [.firing])
        let gone = engine.evaluate(deletion, now: 30, silences: [silence])
        #expect(gone.notifications.isEmpty && gone.active.isEmpty)
        let after = engine.evaluate(afterwards, now: 600, silences: [silence])
        #expect(after.notifications.isEmpty && after.held.isEmpty && after.active.isEmpty)
    }

    @Test func aNotifiedAlertSilencedThenDeletedStaysResolvedAfterTheSilence() {
        var engine = AlertEngine(rules: [stopped])
        _ = engine.evaluate(AlertInput(domains: running), now: 0)
        #expect(engine.evaluate(crash, now: 15).notifications.count == 1)
        let silence = AlertSilence(id: 1, matcher: "vm-stopped-unexpectedly", until: 600, createdBy: "ops", comment: "")
        let gone = engine.evaluate(deletion, now: 30, silences: [silence])
        #expect(gone.notifications.isEmpty)
        #expect(gone.held.map(\.kind) == [.resolved] && gone.held.first?.reason == "vm web1 no longer exists")
        let after = engine.evaluate(afterwards, now: 600, silences: [silence])
        #expect(after.notifications.isEmpty && after.active.isEmpty)
    }

    @Test func aMetricAlertForARemovedPoolResolvesAtOnce() {
        var engine = AlertEngine(
            rules: [AlertRule(
                name: "pool-space-low", severity: .warning, summary: "pool {pool} {value} full",
                condition: .threshold(.init(metric: "hv_pool_used_ratio", comparison: .above, threshold: 0.85)))],
            absentResolveSeconds: 600)
        let pool = PoolStats(name: "scratch", active: true, capacityBytes: 100, allocationBytes: 95, availableBytes: 5)
        let full = AlertInput(
            samples: [MetricSample(name: "hv_pool_used_ratio", labels: ["pool": "scratch"], value: 0.95)], domains: [],
            pools: [pool], networks: [])
        #expect(engine.evaluate(full, now: 0).notifications.map(\.kind) == [.firing])
        let removed = engine.evaluate(AlertInput(domains: [], pools: [], networks: []), now: 15)
        #expect(removed.notifications.map(\.kind) == [.resolved])
        #expect(removed.notifications.first?.reason == "pool scratch no longer exists")
        #expect(removed.active.isEmpty)
    }

    @Test func aHealthAlertForARemovedNetworkResolvesAtOnce() {
        var engine = AlertEngine(rules: [AlertRule(
            name: "health-check-critical", severity: .critical, summary: "{title}: {value}",
            condition: .health(.init(check: "*", statuses: [.critical])))])
        let check = HealthCheck(
            id: "network:lab", title: "network lab", status: .critical, value: "inactive, but marked autostart",
            explanation: "", fix: nil)
        let network = NetworkStatus(name: "lab", active: false, autostart: true, bridge: nil)
        let down = AlertInput(healthChecks: [check], domains: [], pools: [], networks: [network])
        #expect(engine.evaluate(down, now: 0).notifications.map(\.kind) == [.firing])
        // The health checks are not run again this cycle; the broker's list already lacks the network.
        let removed = engine.evaluate(AlertInput(healthChecks: [check], domains: [], pools: [], networks: []), now: 15)
        #expect(removed.notifications.map(\.kind) == [.resolved])
        #expect(removed.notifications.first?.reason == "network lab no longer exists")
    }
}
