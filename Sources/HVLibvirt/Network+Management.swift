import CLibvirt

extension Network {
    /// One line of the network listing.
    public struct Summary: Sendable, Hashable {
        public var name: String
        public var isActive: Bool
        public var isPersistent: Bool
        public var autostart: Bool
        /// The host bridge; nil for networks without one.
        public var bridge: String?

        public init(name: String, isActive: Bool, isPersistent: Bool, autostart: Bool, bridge: String?) {
            self.name = name
            self.isActive = isActive
            self.isPersistent = isPersistent
            self.autostart = autostart
            self.bridge = bridge
        }
    }

    /// Whether the network has a persistent definition (it outlives being stopped).
    public func isPersistent() throws(LibvirtError) -> Bool {
        try Call.status("reading whether network \(name) is persistent") { virNetworkIsPersistent(pointer) } == 1
    }

    /// The network's UUID.
    public func uuid() throws(LibvirtError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        _ = try Call.status("reading the UUID of network \(name)") { virNetworkGetUUIDString(pointer, &buffer) }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Name, state, persistence, autostart and bridge together.
    public func summary() throws(LibvirtError) -> Summary {
        Summary(
            name: name, isActive: try isActive(), isPersistent: try isPersistent(), autostart: try autostart(),
            bridge: bridgeName()
        )
    }

    /// The network's XML; `inactive` gives the persistent definition rather than the running state.
    public func xmlDescription(inactive: Bool = false) throws(LibvirtError) -> String {
        let flags = inactive ? VIR_NETWORK_XML_INACTIVE.rawValue : 0
        return try Call.ownedString("reading the XML of network \(name)") { virNetworkGetXMLDesc(pointer, flags) }
    }

    /// Starts the network (`virNetworkCreate`): its bridge, NAT rules and DHCP server.
    public func start() throws(LibvirtError) {
        _ = try Call.status("starting network \(name)") { virNetworkCreate(pointer) }
    }

    /// Stops the network (`virNetworkDestroy`); guests attached to it lose their link.
    public func destroy() throws(LibvirtError) {
        _ = try Call.status("stopping network \(name)") { virNetworkDestroy(pointer) }
    }

    /// Removes the network's persistent definition (`virNetworkUndefine`); a running network
    /// keeps running as a transient one until stopped.
    public func undefine() throws(LibvirtError) {
        _ = try Call.status("undefining network \(name)") { virNetworkUndefine(pointer) }
    }

    /// Sets whether libvirt starts the network when the host boots; the network must be persistent.
    public func setAutostart(_ enabled: Bool) throws(LibvirtError) {
        _ = try Call.status("setting the autostart of network \(name)") {
            virNetworkSetAutostart(pointer, enabled ? 1 : 0)
        }
    }
}

extension Connection {
    /// The network with this name, or nil when there is none.
    public func network(named name: String) throws(LibvirtError) -> Network? {
        do {
            return Network(owning: try Call.pointer("looking up network \(name)") {
                virNetworkLookupByName(pointer, name)
            })
        } catch where error.isNoNetwork {
            return nil
        }
    }

    /// Defines a persistent, stopped network from XML (`virNetworkDefineXML`).
    public func defineNetwork(xml: String) throws(LibvirtError) -> Network {
        Network(owning: try Call.pointer("defining a network") { virNetworkDefineXML(pointer, xml) })
    }

    /// Every defined or active network with its state, sorted by name. A network removed while
    /// the list is read is left out.
    public func networkSummaries() throws(LibvirtError) -> [Network.Summary] {
        var summaries: [Network.Summary] = []
        for network in try networks() {
            do {
                summaries.append(try network.summary())
            } catch where error.isNoNetwork {
                continue
            }
        }
        return summaries.sorted { $0.name < $1.name }
    }
}
