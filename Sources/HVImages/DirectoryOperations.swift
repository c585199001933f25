import Glibc
import HVSystem

/// The directories the library works in; their entries are handled with `HVSystem`'s directory
/// operations, relative to the open directory and never following a symlink.
extension Descriptor {
    /// Opens the directory at `path`.
    static func openDirectory(_ path: String) throws(ImageError) -> Descriptor {
        do {
            return try Descriptor.open(path, O_RDONLY | O_DIRECTORY)
        } catch where error.code == ENOENT {
            throw ImageError(.notConfigured, "the directory \(path) does not exist")
        } catch {
            throw ioError("open the directory \(path)", error.code)
        }
    }
}
