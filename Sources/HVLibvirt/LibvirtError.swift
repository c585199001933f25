import CLibvirt
import Glibc

/// A failed libvirt call: libvirt's error number and domain, and its message.
public struct LibvirtError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Int32
    public var domain: Int32
    public var message: String

    public var description: String { message }

    public var isNoDomain: Bool { code == Int32(VIR_ERR_NO_DOMAIN.rawValue) }
    public var isNoStoragePool: Bool { code == Int32(VIR_ERR_NO_STORAGE_POOL.rawValue) }
    public var isNoNetwork: Bool { code == Int32(VIR_ERR_NO_NETWORK.rawValue) }
    public var isNoStorageVolume: Bool { code == Int32(VIR_ERR_NO_STORAGE_VOL.rawValue) }
    public var isOperationInvalid: Bool { code == Int32(VIR_ERR_OPERATION_INVALID.rawValue) }
    /// libvirt gave up waiting for the domain: another job (a backup, a migration) holds it.
    public var isOperationTimeout: Bool { code == Int32(VIR_ERR_OPERATION_TIMEOUT.rawValue) }
    /// The driver does not know one of the flags passed (VIR_ERR_INVALID_ARG "unsupported flags").
    public var isUnsupportedFlags: Bool {
        code == Int32(VIR_ERR_INVALID_ARG.rawValue) && message.contains("unsupported flags")
    }
    /// The name is taken. A directory pool whose list of volumes is stale finds the file only
    /// when it creates it, and says so with VIR_ERR_OPERATION_INVALID "volume target path '…'
    /// already exists".
    public var isAlreadyExisting: Bool {
        code == Int32(VIR_ERR_DOM_EXIST.rawValue) || code == Int32(VIR_ERR_STORAGE_VOL_EXIST.rawValue)
            || code == Int32(VIR_ERR_NETWORK_EXIST.rawValue)
            || (code == Int32(VIR_ERR_OPERATION_INVALID.rawValue) && message.contains("already exists"))
    }
    public var isNoDomainSnapshot: Bool { code == Int32(VIR_ERR_NO_DOMAIN_SNAPSHOT.rawValue) }
    public var isNoDomainMetadata: Bool { code == Int32(VIR_ERR_NO_DOMAIN_METADATA.rawValue) }
    /// The domain has no backup job.
    public var isNoDomainBackup: Bool { code == Int32(VIR_ERR_NO_DOMAIN_BACKUP.rawValue) }
    public var isNoDomainCheckpoint: Bool { code == Int32(VIR_ERR_NO_DOMAIN_CHECKPOINT.rawValue) }
    /// A checkpoint's bitmaps are missing or damaged in a disk image, so it can't be used for an
    /// incremental backup.
    public var isCheckpointInconsistent: Bool { code == Int32(VIR_ERR_CHECKPOINT_INCONSISTENT.rawValue) }
    /// No guest agent answered: none is configured or running in the guest, or it did not reply.
    public var isAgentUnavailable: Bool {
        code == Int32(VIR_ERR_AGENT_UNRESPONSIVE.rawValue) || code == Int32(VIR_ERR_AGENT_UNSYNCED.rawValue)
            || (code == Int32(VIR_ERR_ARGUMENT_UNSUPPORTED.rawValue) && message.contains("agent"))
            || (code == Int32(VIR_ERR_OPERATION_INVALID.rawValue) && message.contains("agent"))
    }
    /// The connection's driver does not implement the call (the test driver lacks volume resize,
    /// block resize and DHCP leases, for example).
    public var isNoSupport: Bool {
        code == Int32(VIR_ERR_NO_SUPPORT.rawValue) || code == Int32(VIR_ERR_OPERATION_UNSUPPORTED.rawValue)
    }
    /// An argument libvirt, or this wrapper before calling libvirt, refused.
    public var isInvalidArgument: Bool { code == Int32(VIR_ERR_INVALID_ARG.rawValue) }

    /// The error libvirt recorded for this thread's last failed call.
    static func last(_ fallback: String) -> LibvirtError {
        guard let error = virGetLastError() else {
            return LibvirtError(code: -1, domain: -1, message: fallback)
        }
        let message = error.pointee.message.map { String(cString: $0) } ?? fallback
        return LibvirtError(code: error.pointee.code, domain: error.pointee.domain, message: message)
    }
}

/// Turns libvirt's return conventions into values or typed errors.
enum Call {
    static func status(_ what: String, _ body: () -> Int32) throws(LibvirtError) -> Int32 {
        virResetLastError()
        let result = body()
        guard result >= 0 else { throw LibvirtError.last("\(what) failed") }
        return result
    }

    static func pointer<T>(_ what: String, _ body: () -> T?) throws(LibvirtError) -> T {
        virResetLastError()
        guard let result = body() else { throw LibvirtError.last("\(what) failed") }
        return result
    }

    /// A string libvirt allocated; freed here, exactly once.
    static func ownedString(_ what: String, _ body: () -> UnsafeMutablePointer<CChar>?) throws(LibvirtError) -> String {
        let pointer = try Call.pointer(what, body)
        defer { free(pointer) }
        return String(cString: pointer)
    }
}

/// Formats libvirt's `major * 1_000_000 + minor * 1_000 + release` version numbers.
func formatVersion(_ number: UInt) -> String {
    "\(number / 1_000_000).\(number / 1_000 % 1_000).\(number % 1_000)"
}
