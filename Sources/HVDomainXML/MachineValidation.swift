import HVProtocol

extension MachineDefinition {
    /// Checks everything the domain XML is built from; the first problem is thrown as
    /// `HVError.invalidSpec` naming the spec field it comes from (`disks[1].path`, `networks[0].mac`).
    ///
    /// The broker validates the spec before it resolves it; this is the last check before libvirt, so a
    /// definition that would give libvirt a relative path, a name it would read differently, a
    /// duplicate device or text XML cannot carry never reaches it.
    public func validate() throws(HVError) {
        let code = HVError.Code.invalidSpec
        try Checks.name(name, field: "name", what: "machine name", code: code)
        if let uuid { try Checks.uuid(uuid, field: "uuid", code: code) }
        guard (1...4096).contains(vcpus) else {
            throw Checks.fail(
                code, "vcpus", "must be between 1 and 4096, got \(vcpus)", fix: "choose a count in that range"
            )
        }
        guard memory.bytes > 0, memory.bytes % 1024 == 0 else {
            throw Checks.fail(
                code, "memory", "must be a positive whole number of KiB, got \(memory)", fix: "write it like 2GiB"
            )
        }
        guard firmware != .uefiSecure || machine == .q35 else {
            throw Checks.fail(
                code, "firmware", "Secure Boot firmware needs the q35 machine type (it relies on SMM)",
                fix: "set machine: q35, or firmware: uefi"
            )
        }
        var seen: [String: String] = [:]
        func attach(_ path: String, field: String) throws(HVError) {
            try Checks.path(path, field: field, code: code)
            if let other = seen[path] {
                throw Checks.fail(
                    code, field, "the image is already attached as \(other)", fix: "attach each image once"
                )
            }
            seen[path] = field
        }
        for (index, disk) in disks.enumerated() {
            try attach(disk.path, field: "disks[\(index)].path")
            if let backing = disk.backingPath {
                try Checks.path(backing, field: "disks[\(index)].backing_path", code: code)
            }
            guard (disk.backingPath == nil) == (disk.backingFormat == nil) else {
                throw Checks.fail(
                    code, "disks[\(index)].backing_format", "a backing image needs both its path and its format",
                    fix: "state the backing image's format explicitly"
                )
            }
        }
        if let cdromPath { try attach(cdromPath, field: "cdrom") }
        if let seedPath { try attach(seedPath, field: "cloud_init") }
        if let serialLogPath { try Checks.path(serialLogPath, field: "serial", code: code) }
        try validateNics(code: code)
        try validateMetadata(code: code)
        try validateHostFeatures(code: code)
    }

    /// Host features are checked again here: pins must name vCPUs the machine has, and every list
    /// must be in the canonical form the broker stores.
    private func validateHostFeatures(code: HVError.Code) throws(HVError) {
        let features = metadata.hostFeatures
        if let pin = features.cpuPins.first(where: { $0.vcpu >= vcpus }) {
            throw Checks.fail(
                code, "vcpus", "vCPU \(pin.vcpu) is pinned to host CPUs, but the machine would have \(vcpus) vCPUs",
                fix: "keep at least \(pin.vcpu + 1) vCPUs, or have an administrator change the pins ('hv vm pin \(name) --clear')"
            )
        }
        guard try HostFeatureSyntax.pins(features.cpuPins) == features.cpuPins else {
            throw Checks.fail(code, "cpu_pins", "the pins are not in canonical form", fix: "set them with 'hv vm pin'")
        }
        let devices = try HostFeatureSyntax.devices(pci: features.pciDevices, usb: features.usbDevices)
        guard devices.pci == features.pciDevices, devices.usb == features.usbDevices else {
            throw Checks.fail(code, "passthrough", "the device list is not in canonical form", fix: "set it with 'hv vm passthrough'")
        }
    }

    private func validateNics(code: HVError.Code) throws(HVError) {
        var macs: [String: Int] = [:]
        for (index, nic) in nics.enumerated() {
            switch nic.source {
            case .network(let network):
                try Checks.name(network, field: "networks[\(index)].network", what: "network name", code: code)
            case .bridge(let bridge):
                try Checks.name(
                    bridge, field: "networks[\(index)].bridge", what: "bridge name", maximumLength: 15, code: code
                )
            }
            guard let mac = nic.mac else { continue }
            let field = "networks[\(index)].mac"
            try Checks.mac(mac, field: field, code: code)
            if let other = macs[mac.lowercased()] {
                throw Checks.fail(
                    code, field, "\(mac) is already used by networks[\(other)]", fix: "give each interface its own MAC"
                )
            }
            macs[mac.lowercased()] = index
        }
    }

    private func validateMetadata(code: HVError.Code) throws(HVError) {
        guard !metadata.specJSON.isEmpty else {
            throw Checks.fail(code, "spec", "the applied spec is empty", fix: "record the canonical spec JSON")
        }
        try Checks.text(metadata.specJSON, field: "spec", code: code)
        try Checks.name(metadata.ownerGroup, field: "owner_group", what: "group name", code: code)
        if let description = metadata.description { try Checks.text(description, field: "description", code: code) }
        var tags: Set<String> = []
        for (index, tag) in metadata.tags.enumerated() {
            try Checks.name(tag, field: "tags[\(index)]", what: "tag", code: code)
            guard tags.insert(tag).inserted else {
                throw Checks.fail(code, "tags[\(index)]", "'\(tag)' is listed twice", fix: "list each tag once")
            }
        }
    }
}

/// Field checks shared by the XML builders; each failure names its field and says how to fix it.
enum Checks {
    /// An `invalidSpec` or `invalidParameter` error for `field`, with the field named in the reason.
    static func fail(_ code: HVError.Code, _ field: String, _ reason: String, fix: String) -> HVError {
        code == .invalidSpec
            ? .invalidSpec(field, reason, fix: fix) : .invalidParameter(field, "\(field): \(reason)", fix: fix)
    }

    /// libvirt object names (machines, networks, volumes, snapshots, tags): 1 to `maximumLength`
    /// letters, digits, '.', '_' or '-', starting with a letter or digit.
    static func name(
        _ value: String, field: String, what: String, maximumLength: Int = 64, code: HVError.Code
    ) throws(HVError) {
        let bytes = Array(value.utf8)
        let allowed = bytes.allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
        guard let first = bytes.first, isAlphanumeric(first), allowed, bytes.count <= maximumLength else {
            throw fail(
                code, field, "\(shown(value)) is not a valid \(what)",
                fix: "use 1 to \(maximumLength) letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        }
    }

    /// A host path the broker derived: absolute, no `..`, no control characters.
    static func path(_ value: String, field: String, code: HVError.Code) throws(HVError) {
        let control = value.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        guard value.hasPrefix("/"), !control, !parts.contains(".."), value.utf8.count <= 4096 else {
            throw fail(
                code, field, "\(shown(value)) is not an absolute host path", fix: "let the broker derive the path"
            )
        }
    }

    /// Free text (descriptions, the spec JSON): only characters XML 1.0 can carry.
    static func text(_ value: String, field: String, code: HVError.Code) throws(HVError) {
        if let bad = value.unicodeScalars.first(where: { !isXMLCharacter($0) }) {
            throw fail(
                code, field, "contains U+\(String(bad.value, radix: 16, uppercase: true)), which XML cannot carry",
                fix: "remove control characters; tabs and line breaks are fine"
            )
        }
    }

    /// A unicast MAC address written as six hex pairs separated by colons.
    static func mac(_ value: String, field: String, code: HVError.Code) throws(HVError) {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.utf8.count == 2 && $0.utf8.allSatisfy(isHexDigit) }) else {
            throw fail(
                code, field, "\(shown(value)) is not a MAC address",
                fix: "write six hex pairs separated by colons, such as 52:54:00:12:34:56"
            )
        }
        let octets = parts.compactMap { UInt8($0, radix: 16) }
        guard octets[0] & 1 == 0, octets.contains(where: { $0 != 0 }) else {
            throw fail(
                code, field, "\(value) is not a unicast address",
                fix: "use an address whose first byte is even, such as one starting with QEMU's 52:54:00"
            )
        }
    }

    /// A UUID in libvirt's form, `6695eb01-f6a4-8304-79aa-97f2502e193f`.
    static func uuid(_ value: String, field: String, code: HVError.Code) throws(HVError) {
        let groups = value.split(separator: "-", omittingEmptySubsequences: false).map(\.utf8)
        guard groups.map(\.count) == [8, 4, 4, 4, 12], groups.allSatisfy({ $0.allSatisfy(isHexDigit) }) else {
            throw fail(
                code, field, "\(shown(value)) is not a UUID", fix: "keep the UUID libvirt reported for the domain"
            )
        }
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    /// XML 1.0's `Char` production.
    static func isXMLCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }

    /// A value quoted for a message, clipped, with control characters escaped.
    static func shown(_ value: String) -> String {
        let clipped = String(value.unicodeScalars.prefix(80))
        return String(reflecting: clipped) + (value.unicodeScalars.count > 80 ? "…" : "")
    }
}
