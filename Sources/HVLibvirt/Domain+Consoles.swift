import CLibvirt
import Foundation

extension Domain {
    /// Connects `stream` to the machine's first console, its serial port (`virDomainOpenConsole`
    /// with `VIR_DOMAIN_CONSOLE_SAFE`, as `virsh console` does): libvirt refuses a second session
    /// rather than let two interleave, unless `force` (`VIR_DOMAIN_CONSOLE_FORCE`) ends the one
    /// that holds it. A refusal for that reason is `LibvirtError.isConsoleInUse`.
    public func openConsole(_ stream: LibvirtStream, force: Bool) throws(LibvirtError) {
        var flags = VIR_DOMAIN_CONSOLE_SAFE.rawValue
        if force { flags |= VIR_DOMAIN_CONSOLE_FORCE.rawValue }
        _ = try Call.status("opening the console of \(name)") { virDomainOpenConsole(pointer, nil, stream.pointer, flags) }
    }

    /// A new connection to the machine's display number `index`, made by libvirt inside the
    /// hypervisor (`virDomainOpenGraphicsFD`), so the display needs no address or socket of its
    /// own. Returns the descriptor, close-on-exec, which the caller owns and must close.
    public func openGraphics(index: UInt32 = 0) throws(LibvirtError) -> Int32 {
        let descriptor = try Call.status("opening a connection to the display of \(name)") {
            virDomainOpenGraphicsFD(pointer, index, 0)
        }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        return descriptor
    }

    /// Asks for an image of the machine's screen number `screen` (`virDomainScreenshot`); the
    /// image arrives on `stream`, which must be a blocking one. Returns its MIME type, which the
    /// hypervisor chooses (QEMU: `image/x-portable-pixmap`; libvirt's test driver: `image/png`).
    public func screenshot(into stream: LibvirtStream, screen: UInt32 = 0) throws(LibvirtError) -> String {
        try Call.ownedString("taking a screenshot of \(name)") { virDomainScreenshot(pointer, stream.pointer, screen, 0) }
    }
}

extension LibvirtError {
    /// `openConsole` without `force` found the console held by another session.
    public var isConsoleInUse: Bool {
        code == Int32(VIR_ERR_OPERATION_FAILED.rawValue) && message.contains("Active console session exists")
    }

    /// `openConsole` found no console to open: the machine has no serial port.
    public var isNoConsoleDevice: Bool {
        code == Int32(VIR_ERR_INTERNAL_ERROR.rawValue) && message.contains("cannot find character device")
    }
}
