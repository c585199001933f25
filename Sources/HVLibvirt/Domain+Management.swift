import CLibvirt

extension Domain {
    /// What `virDomainGetXMLDesc` returns.
    public struct XMLFlags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// The persistent definition the next boot uses, not the running configuration.
        public static let inactive = XMLFlags(rawValue: VIR_DOMAIN_XML_INACTIVE.rawValue)
        /// Include security-sensitive values such as VNC passwords.
        public static let secure = XMLFlags(rawValue: VIR_DOMAIN_XML_SECURE.rawValue)
        /// Leave out what the host filled in, so the XML can be defined elsewhere.
        public static let migratable = XMLFlags(rawValue: VIR_DOMAIN_XML_MIGRATABLE.rawValue)
    }

    /// Which configuration a change applies to (`virDomainModificationImpact`). The empty set is
    /// libvirt's CURRENT: the running guest when it runs, otherwise the persistent definition.
    public struct Impact: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let current: Impact = []
        /// The running guest; fails when it is not running.
        public static let live = Impact(rawValue: VIR_DOMAIN_AFFECT_LIVE.rawValue)
        /// The persistent definition; fails for a transient domain.
        public static let config = Impact(rawValue: VIR_DOMAIN_AFFECT_CONFIG.rawValue)
    }

    /// What `virDomainUndefineFlags` removes besides the definition.
    public struct UndefineFlags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let managedSave = UndefineFlags(rawValue: VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue)
        /// The metadata of the domain's snapshots (the snapshot data inside qcow2 images stays).
        public static let snapshotsMetadata = UndefineFlags(rawValue: VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue)
        /// The UEFI variable store of the domain.
        public static let nvram = UndefineFlags(rawValue: VIR_DOMAIN_UNDEFINE_NVRAM.rawValue)
        public static let keepNVRAM = UndefineFlags(rawValue: VIR_DOMAIN_UNDEFINE_KEEP_NVRAM.rawValue)
        public static let checkpointsMetadata = UndefineFlags(
            rawValue: VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA.rawValue
        )
        /// The emulated TPM's state.
        public static let tpm = UndefineFlags(rawValue: VIR_DOMAIN_UNDEFINE_TPM.rawValue)
    }

    /// The domain's XML (`virDomainGetXMLDesc`); `.inactive` reads the persistent configuration.
    public func xmlDescription(flags: XMLFlags) throws(LibvirtError) -> String {
        try Call.ownedString("reading the XML of \(name)") { virDomainGetXMLDesc(pointer, flags.rawValue) }
    }

    /// Whether the domain has a persistent definition (it outlives being stopped).
    public func isPersistent() throws(LibvirtError) -> Bool {
        try Call.status("reading whether \(name) is persistent") { virDomainIsPersistent(pointer) } == 1
    }

    /// Whether the guest is running or paused (it has a process).
    public func isActive() throws(LibvirtError) -> Bool {
        try Call.status("reading whether \(name) is active") { virDomainIsActive(pointer) } == 1
    }

    /// Sets whether libvirt starts the domain when the host boots; the domain must be persistent.
    public func setAutostart(_ enabled: Bool) throws(LibvirtError) {
        _ = try Call.status("setting the autostart of \(name)") { virDomainSetAutostart(pointer, enabled ? 1 : 0) }
    }

    /// Removes the definition and what `flags` names (`virDomainUndefineFlags`). A running domain
    /// becomes transient and disappears when it stops. Drivers without NVRAM or checkpoints refuse
    /// those flags (`LibvirtError.isUnsupportedFlags`).
    public func undefine(flags: UndefineFlags) throws(LibvirtError) {
        _ = try Call.status("undefining \(name)") { virDomainUndefineFlags(pointer, flags.rawValue) }
    }

    /// The domain's `<metadata>` child element in XML namespace `namespace`, or nil when it has none
    /// (`virDomainGetMetadata` with VIR_DOMAIN_METADATA_ELEMENT).
    public func metadata(namespace: String, impact: Impact = .current) throws(LibvirtError) -> String? {
        do {
            return try Call.ownedString("reading the metadata of \(name)") {
                virDomainGetMetadata(pointer, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), namespace, impact.rawValue)
            }
        } catch where error.isNoDomainMetadata {
            return nil
        }
    }

    /// Replaces the domain's `<metadata>` child element in namespace `namespace` with `xml` (one
    /// element; libvirt puts it in the namespace under prefix `key`), or removes it when `xml` is
    /// nil (`virDomainSetMetadata` with VIR_DOMAIN_METADATA_ELEMENT).
    public func setMetadata(_ xml: String?, key: String, namespace: String, impact: Impact = .current)
        throws(LibvirtError)
    {
        _ = try Call.status("writing the metadata of \(name)") {
            virDomainSetMetadata(
                pointer, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), xml, xml == nil ? nil : key, namespace,
                impact.rawValue
            )
        }
    }
}

extension Connection {
    /// Defines a persistent domain from XML, checking it against libvirt's schema first when
    /// `validate` is set (`virDomainDefineXMLFlags` with VIR_DOMAIN_DEFINE_VALIDATE). Redefining an
    /// existing name replaces its persistent configuration.
    public func defineDomain(xml: String, validate: Bool) throws(LibvirtError) -> Domain {
        let flags = validate ? VIR_DOMAIN_DEFINE_VALIDATE.rawValue : 0
        return Domain(owning: try Call.pointer("defining a domain") { virDomainDefineXMLFlags(pointer, xml, flags) })
    }
}
