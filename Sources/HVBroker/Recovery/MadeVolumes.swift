import HVLibvirt
import Synchronization

/// The volumes a change (`Vm.Apply`, `Vm.Clone`, `Backup.Restore`) asked libvirt to make: all that
/// its failure takes back. A volume whose name was taken already (another restore's, another
/// machine's) is someone else's and never counted, so a failed change never removes it.
final class MadeVolumes: Sendable {
    private let keys = Mutex<[VolumeKey]>([])

    var all: [VolumeKey] { keys.withLock { $0 } }

    /// A volume the change removed itself (a restore's raw volume, once copied) is no longer its
    /// to take back: the name may be another request's by then.
    func forget(_ key: VolumeKey) {
        keys.withLock { $0.removeAll { $0 == key } }
    }

    /// Makes the volume `key` with `make`: counted from before the call, so a libvirt that went
    /// away while making it still has it taken back, unless libvirt says the name was taken.
    func making<T>(_ key: VolumeKey, _ make: () throws(LibvirtError) -> T) throws(LibvirtError) -> T {
        keys.withLock { $0.append(key) }
        do {
            return try make()
        } catch {
            if error.isAlreadyExisting { keys.withLock { $0.removeAll { $0 == key } } }
            throw error
        }
    }
}
