import Foundation

extension Report {
    /// Where the time of a Vm.Info round trip goes, from the medians.
    mutating func observe() {
        func median(_ id: String) -> Double? { latencies.first { $0.id == id }?.medianMicroseconds }
        guard let trip = median("broker.vm-info"), let inside = median("broker.vm-info.dispatcher"),
            let rootCheck = median("polkit.check.root"), let raw = median("libvirt.info"),
            let work = median("libvirt.vm-info-work"), let audit = median("audit.append"),
            let json = median("json.vm-info")
        else { return }
        func µs(_ value: Double) -> String { Self.format(value) + " µs" }
        func share(_ part: Double, of whole: Double = trip) -> String { String(format: "%.0f%%", part / whole * 100) }
        let rest = max(trip - rootCheck - work - audit - json, 0)

        observations.append(
            "the polkit check is \(share(rootCheck)) of the Vm.Info round trip (\(µs(rootCheck)) of \(µs(trip))) and "
                + "\(String(format: "%.0f", rootCheck / raw))x the libvirt lookup + info it guards (\(µs(raw)))"
        )
        observations.append(
            "Vm.Info round trip \(µs(trip)): polkit \(share(rootCheck)), JSON \(share(json)), audit append "
                + "\(share(audit)), libvirt calls + XML parse \(share(work)), the rest \(share(rest)) (thread "
                + "hand-offs, the socket); the broker's own records put \(µs(inside)) between reading the request "
                + "and auditing it"
        )
        var perRequestCheck = rootCheck
        if let rulesCheck = median("polkit.check.rules") {
            perRequestCheck = rulesCheck
            let estimate = trip - rootCheck + rulesCheck
            observations.append(
                "these clients are root, which polkitd allows before reading any rule; for an unprivileged caller "
                    + "it runs the rules and a check costs \(µs(rulesCheck)), so such a Vm.Info takes about "
                    + "\(µs(estimate)), \(share(rulesCheck, of: estimate)) of it in polkit"
            )
        }
        let parts = [
            ("the polkit check", perRequestCheck), ("JSON", json), ("the audit append", audit), ("libvirt", work),
            ("thread hand-offs and the socket", rest),
        ]
        if let top = parts.max(by: { $0.1 < $1.1 }) {
            observations.append(
                "largest cost: \(top.0) (\(µs(top.1))); polkit decisions are not cached, so every request pays "
                    + "\(µs(perRequestCheck)) for its check"
            )
        }
        if let one = throughput.first(where: { $0.clients == 1 }), let many = throughput.last, many.clients > 1 {
            let ratio = String(format: "%.2f", many.requestsPerSecond / one.requestsPerSecond)
            observations.append(
                "\(many.clients) concurrent clients get \(ratio)x the requests/s of one; broker, polkitd and clients "
                    + "share \(machine.cpus) CPUs"
            )
            let cpu = many.cpuMicrosecondsPerRequest
            let total = cpu.values.reduce(0, +)
            if total > 0 {
                let broker = share(cpu["hv-broker"] ?? 0, of: total)
                let polkit = share((cpu["polkitd"] ?? 0) + (cpu["dbus-daemon"] ?? 0), of: total)
                let clients = share(cpu["hv-bench clients"] ?? 0, of: total)
                let ceiling = Self.format(Double(machine.cpus) * 1e6 / total)
                observations.append(
                    "with \(many.clients) clients each Vm.Info costs \(µs(total)) of CPU: hv-broker \(broker), "
                        + "polkitd + dbus-daemon \(polkit), the clients \(clients); \(machine.cpus) CPUs allow at most "
                        + "about \(ceiling) requests/s"
                )
            }
        }
    }
}
