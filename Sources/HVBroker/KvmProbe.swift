import CHVShims
import HVProtocol

/// Tells whether KVM can actually run a guest here, by running one (in a child process, with a
/// time limit), rather than trusting that /dev/kvm exists.
public enum KvmProbe {
    /// Blocking; call it off the event loop.
    public static func run(timeoutMilliseconds: Int32 = 2_000) -> KvmStatus {
        var reason = [CChar](repeating: 0, count: 512)
        let code = hv_kvm_probe(timeoutMilliseconds, &reason, reason.count)
        let text = String(decoding: reason.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return KvmStatus(usable: code == 0, reason: text)
    }
}
