import CLibvirt
import Glibc

/// A libvirt virtual network reference; freed when the last Swift reference goes.
public final class Network: @unchecked Sendable {
    let pointer: virNetworkPtr

    init(owning pointer: virNetworkPtr) {
        self.pointer = pointer
    }

    deinit {
        virNetworkFree(pointer)
    }

    public var name: String {
        virNetworkGetName(pointer).map { String(cString: $0) } ?? ""
    }

    public func isActive() throws(LibvirtError) -> Bool {
        try Call.status("reading whether network \(name) is active") { virNetworkIsActive(pointer) } == 1
    }

    public func autostart() throws(LibvirtError) -> Bool {
        var value: Int32 = 0
        _ = try Call.status("reading network autostart") { virNetworkGetAutostart(pointer, &value) }
        return value != 0
    }

    /// The host bridge the network uses; nil for networks without one (macvtap, hostdev).
    public func bridgeName() -> String? {
        virResetLastError()
        guard let name = virNetworkGetBridgeName(pointer) else { return nil }
        defer { free(name) }
        return String(cString: name)
    }
}
