extension MachineSpec {
    /// Checks every field; the first problem found is thrown as `invalidSpec`, naming its field path
    /// (`disks[1].size`) and suggesting what to write instead.
    public func validate() throws(HVError) {
        try SpecName.validate(name, field: "name", kind: "machine", example: "web1")
        if let description { try Self.validateDescription(description) }
        try validateTags()
        guard SpecLimits.vcpus.contains(vcpus) else {
            throw .invalidSpec(
                "vcpus", "must be between \(SpecLimits.vcpus.lowerBound) and \(SpecLimits.vcpus.upperBound), got \(vcpus)",
                fix: "write a count such as 'vcpus: 2'"
            )
        }
        try validateMemory()
        try validateDisks()
        if let cdrom {
            if SpecName.looksLikePath(cdrom) {
                throw .invalidSpec(
                    "cdrom", "'\(VmName.printable(cdrom))' looks like a path; paths are not accepted, only the name of an ISO in the library",
                    fix: "write the image's name as 'hv iso list' shows it, such as 'cdrom: debian-12.iso'"
                )
            }
            try IsoName.validate(cdrom, field: "cdrom")
        }
        try validateNetworks()
        if let graphics { try graphics.validate(field: "graphics") }
        if let autostart, !AutostartSpec.orderRange.contains(autostart.order) {
            throw .invalidSpec(
                "autostart.order", "must be between 0 and 999, got \(autostart.order)",
                fix: "write a small number such as 'order: 10'; lower numbers start first"
            )
        }
        if let cloudInit { try cloudInit.validate(field: "cloud_init") }
    }

    static func validateDescription(_ text: String) throws(HVError) {
        let length = text.unicodeScalars.count
        guard length <= SpecLimits.descriptionLength else {
            throw .invalidSpec(
                "description", "is \(length) characters long, the limit is \(SpecLimits.descriptionLength)",
                fix: "shorten it to a sentence or two; keep longer notes elsewhere"
            )
        }
        if let markup = text.unicodeScalars.first(where: { "<>&".unicodeScalars.contains($0) }) {
            throw .invalidSpec(
                "description", "contains '\(markup)'; descriptions are plain text, and '<', '>' and '&' are not accepted",
                fix: "write it without markup characters, e.g. 'and' instead of '&'"
            )
        }
        if let control = text.unicodeScalars.first(where: { isForbiddenControl($0) }) {
            throw .invalidSpec(
                "description", "contains the control character U+\(hex(control.value)); only newlines and tabs are allowed",
                fix: "remove it and write plain text"
            )
        }
    }

    static func isForbiddenControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar != "\n" && scalar != "\t" && scalar.properties.generalCategory == .control
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private func validateTags() throws(HVError) {
        guard tags.count <= SpecLimits.tagCount else {
            throw .invalidSpec(
                "tags", "has \(tags.count) tags, the limit is \(SpecLimits.tagCount)", fix: "keep the \(SpecLimits.tagCount) that matter most"
            )
        }
        var seen: [String: Int] = [:]
        for (index, tag) in tags.enumerated() {
            let field = "tags[\(index)]"
            try SpecName.validate(tag, field: field, kind: "tag", maximumLength: SpecLimits.shortNameLength, example: "web")
            if let first = seen[tag] {
                throw .invalidSpec(field, "'\(tag)' is already tags[\(first)]", fix: "list each tag once")
            }
            seen[tag] = index
        }
    }

    private func validateMemory() throws(HVError) {
        let limits = SpecLimits.memory
        guard limits.contains(memory) else {
            throw .invalidSpec(
                "memory", "must be between \(limits.lowerBound.readable) and \(limits.upperBound.readable), got \(memory.readable)",
                fix: "write a size such as 'memory: 2GiB'"
            )
        }
        guard memory.bytes % (1 << 20) == 0 else {
            throw .invalidSpec(
                "memory", "must be a whole number of MiB, got \(memory)",
                fix: "round it to MiB, such as 'memory: \(memory.bytes >> 20)MiB'"
            )
        }
    }
}

extension CloudInitSpec {
    func validate(field: String) throws(HVError) {
        try Self.check(userData, field: "\(field).user_data", limit: SpecLimits.userDataBytes)
        guard userData.hasPrefix("#cloud-config") || userData.hasPrefix("#!") else {
            throw .invalidSpec(
                "\(field).user_data", "must start with '#cloud-config' (cloud-config data) or '#!' (a script)",
                fix: "put '#cloud-config' on the first line, followed by the settings"
            )
        }
        if let metaData { try Self.check(metaData, field: "\(field).meta_data", limit: SpecLimits.metaDataBytes) }
        if let networkConfig {
            try Self.check(networkConfig, field: "\(field).network_config", limit: SpecLimits.networkConfigBytes)
        }
    }

    private static func check(_ text: String, field: String, limit: Int) throws(HVError) {
        guard text.utf8.count <= limit else {
            throw .invalidSpec(
                field, "is \(ByteSize(bytes: UInt64(text.utf8.count)).readable), the limit is \(limit >> 10) KiB",
                fix: "keep the seed small; fetch larger files from the guest (for example with cloud-config 'runcmd')"
            )
        }
        if text.unicodeScalars.contains("\0") {
            throw .invalidSpec(field, "contains a NUL character; cloud-init data is text", fix: "remove the NUL characters")
        }
    }
}
