import HVProtocol

extension Explanation {
    /// `hv health`: the broker's checks plus the ones the client runs itself.
    public static func health() -> Explanation {
        Explanation(
            commands: [
                "\(uri) version", "\(uri) pool-list --all --details", "\(uri) net-list --all",
                "\(uri) list --all --autostart", "hv audit verify", "cat /sys/class/net/BRIDGE/operstate", "timedatectl",
            ],
            why: "Asks the broker whether libvirtd answers, KVM can run a guest, polkit answers, pools have space, "
                + "networks are up, autostart machines run and the audit chain is intact; then checks here that the "
                + "broker answers, each active network's bridge is up and the clock is synchronized.",
            operation: .hostHealth
        )
    }

    /// The statistics the monitor collects in one call.
    public static func stats() -> Explanation {
        Explanation(
            commands: [
                "\(uri) domstats --state --cpu-total --balloon --vcpu --interface --block --nowait",
                "\(uri) pool-list --all --details", "\(uri) net-list --all",
            ],
            why: "Reads every machine's counters in one bulk call that never waits for a machine busy in a job, "
                + "plus storage pools and networks.",
            operation: .hostStats
        )
    }
}
