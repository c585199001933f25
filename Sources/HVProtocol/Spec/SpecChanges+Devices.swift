extension SpecChanges {
    /// Disks are matched by name. Changes to a kept disk are named by its place in the desired spec.
    static func diskChanges(current: MachineSpec, desired: MachineSpec, into changes: inout Collector) {
        let existing = Dictionary(current.disks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (index, disk) in desired.disks.enumerated() {
            let field = "disks[\(index)]"
            guard let old = existing[disk.name] else {
                changes.add(
                    field, nil, text(disk), .nextBoot, note: "a new volume \(volume(desired.name, disk)) is created"
                )
                continue
            }
            let discards = "it would discard the disk's data; add a disk under a new name instead"
            changes.add("\(field).template", old.template, disk.template, .refused(reason: "changing an existing disk's template \(discards)"))
            changes.add("\(field).pool", old.pool, disk.pool, .refused(reason: "moving an existing disk to another pool \(discards)"))
            sizeChange(field: "\(field).size", old: old, new: disk, into: &changes)
            changes.add("\(field).bus", old.bus.rawValue, disk.bus.rawValue, .nextBoot)
            changes.add("\(field).cache", old.cache.rawValue, disk.cache.rawValue, .nextBoot)
        }
        let kept = Set(desired.disks.map(\.name))
        for disk in current.disks where !kept.contains(disk.name) {
            changes.add(
                "disks", text(disk), nil, .nextBoot,
                note: "disk '\(disk.name)' is detached; its volume \(volume(current.name, disk)) is kept with its data"
            )
        }
    }

    private static func sizeChange(field: String, old: DiskSpec, new: DiskSpec, into changes: inout Collector) {
        switch (old.size, new.size) {
        case (let from?, let to?) where to < from:
            changes.add(
                field, from.description, to.description,
                .refused(reason: "shrinking a disk would discard the data at its end; keep 'size: \(from)' or make it larger")
            )
        case (let from?, nil):
            changes.add(
                field, from.description, nil,
                .refused(reason: "without a size the disk would shrink back to its template's size; keep 'size: \(from)'")
            )
        case (let from, let to?):
            changes.add(
                field, from?.description, to.description, .nextBoot,
                note: "the volume grows to \(to.readable); the guest's partitions and file systems must be grown inside it"
            )
        case (nil, nil):
            return
        }
    }

    /// Interfaces have no names, so they are matched by position.
    static func nicChanges(current: [NicSpec], desired: [NicSpec], into changes: inout Collector) {
        for index in 0..<max(current.count, desired.count) {
            let field = "networks[\(index)]"
            guard index < current.count, index < desired.count else {
                let from = index < current.count ? text(current[index]) : nil
                let to = index < desired.count ? text(desired[index]) : nil
                changes.add(field, from, to, .nextBoot)
                continue
            }
            let old = current[index], new = desired[index]
            changes.add("\(field).network", old.network, new.network, .nextBoot)
            changes.add("\(field).bridge", old.bridge, new.bridge, .nextBoot)
            changes.add("\(field).model", old.model.rawValue, new.model.rawValue, .nextBoot)
            changes.add("\(field).mac", old.mac, new.mac, .nextBoot)
        }
    }

    /// The volume a disk of `machine` lives in.
    static func volume(_ machine: String, _ disk: DiskSpec) -> String { "\(machine)-\(disk.name).qcow2" }

    static func text(_ disk: DiskSpec) -> String {
        var parts = [disk.name]
        if let template = disk.template { parts.append("template \(template)") }
        if let size = disk.size { parts.append(size.description) }
        if let pool = disk.pool { parts.append("pool \(pool)") }
        parts.append("\(disk.bus.rawValue), cache \(disk.cache.rawValue)")
        return parts.joined(separator: ", ")
    }

    static func text(_ nic: NicSpec) -> String {
        var parts = [nic.network.map { "network \($0)" } ?? nic.bridge.map { "bridge \($0)" } ?? "unattached"]
        parts.append(nic.model.rawValue)
        if let mac = nic.mac { parts.append(mac) }
        return parts.joined(separator: ", ")
    }
}
