import CLibvirt
import Foundation

/// An open libvirt connection. libvirt connections are safe to use from several threads; every
/// method blocks, so callers run them off any event loop.
public final class Connection: @unchecked Sendable {
    let pointer: virConnectPtr
    public let uri: String

    public init(uri: String) throws(LibvirtError) {
        try Libvirt.initialize()
        self.uri = uri
        pointer = try Call.pointer("opening libvirt connection \(uri)") { virConnectOpen(uri) }
        // Probe the connection every 5 s; after 3 missed answers libvirt marks it dead.
        _ = virConnectSetKeepAlive(pointer, 5, 3)
    }

    deinit {
        virConnectClose(pointer)
    }

    /// libvirt prints every error to stderr unless told otherwise; we report them ourselves.
    static let silenceDefaultErrorPrinting: Void = {
        virSetErrorFunc(nil) { _, _ in }
    }()

    /// False once libvirt noticed that the daemon went away.
    public var isAlive: Bool { virConnectIsAlive(pointer) == 1 }

    public func hostname() throws(LibvirtError) -> String {
        try Call.ownedString("reading the hostname") { virConnectGetHostname(pointer) }
    }

    public func libraryVersion() throws(LibvirtError) -> String {
        var version: UInt = 0
        _ = try Call.status("reading the libvirt version") { virConnectGetLibVersion(pointer, &version) }
        return formatVersion(version)
    }

    public func hypervisorVersion() throws(LibvirtError) -> String {
        var version: UInt = 0
        _ = try Call.status("reading the hypervisor version") { virConnectGetVersion(pointer, &version) }
        return formatVersion(version)
    }

    public struct NodeInfo: Sendable, Hashable {
        public var cpuModel: String
        public var cpus: Int
        public var memoryKiB: UInt64
    }

    public func nodeInfo() throws(LibvirtError) -> NodeInfo {
        var info = virNodeInfo()
        _ = try Call.status("reading host CPU and memory") { virNodeGetInfo(pointer, &info) }
        let model = withUnsafeBytes(of: info.model) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return NodeInfo(cpuModel: model, cpus: Int(info.cpus), memoryKiB: UInt64(info.memory))
    }

    /// Every defined or running domain.
    public func domains() throws(LibvirtError) -> [Domain] {
        var list: UnsafeMutablePointer<virDomainPtr?>?
        let count = try Call.status("listing domains") { virConnectListAllDomains(pointer, &list, 0) }
        guard let list else { return [] }
        defer { free(list) }
        return (0..<Int(count)).compactMap { index in list[index].map(Domain.init(owning:)) }
    }

    /// The domain with this name, or nil when there is none.
    public func domain(named name: String) throws(LibvirtError) -> Domain? {
        do {
            return Domain(owning: try Call.pointer("looking up domain \(name)") { virDomainLookupByName(pointer, name) })
        } catch where error.isNoDomain {
            return nil
        }
    }

    /// The domain with this UUID (in its 36-character text form), or nil when there is none.
    public func domain(uuid: String) throws(LibvirtError) -> Domain? {
        do {
            return Domain(owning: try Call.pointer("looking up domain \(uuid)") { virDomainLookupByUUIDString(pointer, uuid) })
        } catch where error.isNoDomain {
            return nil
        }
    }

    /// What the hypervisor offers domains of type `virtualization` (`kvm`, `qemu`) on machine type
    /// `machine` and `architecture`, as libvirt's domain capabilities XML
    /// (`virConnectGetDomainCapabilities`, `virsh domcapabilities`): firmware, devices, the TPM.
    public func domainCapabilities(
        virtualization: String, machine: String, architecture: String = "x86_64"
    ) throws(LibvirtError) -> String {
        try Call.ownedString("reading the domain capabilities for \(virtualization) \(machine)") {
            virConnectGetDomainCapabilities(pointer, nil, architecture, machine, virtualization, 0)
        }
    }

    /// Defines a persistent domain from XML.
    public func defineDomain(xml: String) throws(LibvirtError) -> Domain {
        Domain(owning: try Call.pointer("defining domain") { virDomainDefineXML(pointer, xml) })
    }

    /// The storage pool with this name, or nil when there is none.
    public func storagePool(named name: String) throws(LibvirtError) -> StoragePool? {
        do {
            return StoragePool(owning: try Call.pointer("looking up pool \(name)") { virStoragePoolLookupByName(pointer, name) })
        } catch where error.isNoStoragePool {
            return nil
        }
    }

    public func defineStoragePool(xml: String) throws(LibvirtError) -> StoragePool {
        StoragePool(owning: try Call.pointer("defining storage pool") { virStoragePoolDefineXML(pointer, xml, 0) })
    }
}

/// Process-wide libvirt setup.
public enum Libvirt {
    /// Initializes libvirt once, before any other libvirt call and before threads use it.
    ///
    /// Nothing may touch libvirt's error state first: until `virInitialize` creates its
    /// thread-local key, libvirt's error functions read and free whatever another library stored
    /// under pthread key 0 (GLib's slice allocator, here), which corrupts that library's memory.
    /// Safe to call again: later calls return at once. `Connection` calls it too, so no
    /// connection can be the first libvirt call; call it yourself on the main thread first.
    public static func initialize() throws(LibvirtError) {
        guard initialized else {
            throw LibvirtError(code: -1, domain: -1, message: "virInitialize failed")
        }
    }

    private static let initialized: Bool = {
        guard virInitialize() == 0 else { return false }
        Connection.silenceDefaultErrorPrinting
        // Keepalive needs libvirt's event loop: without it a hung (not dead) libvirtd would hold
        // a worker thread forever instead of having its connection closed after 15 s.
        guard virEventRegisterDefaultImpl() == 0 else { return false }
        LibvirtEventLoop.shared.startThread()
        return true
    }()
}
