import Foundation
import HVProtocol
import HVSpec

/// A spec file as `hv vm apply` reads it (`SpecFile.read`, YAML or JSON by `name`). A spec it
/// accepts must export to canonical YAML that reads back as the same spec and exports the same.
enum SpecTarget {
    static func run(_ input: [UInt8], name: String) {
        guard let spec = try? SpecFile.read(data: Data(input), name: name) else { return }
        let text = SpecFile.export(spec)
        let back: MachineSpec
        do {
            back = try SpecFile.read(data: Data(text.utf8), name: "exported.yaml")
        } catch {
            fatalError("the export of an accepted spec is refused: \(error)\n\(text)")
        }
        check(back == spec, "the export reads back as another spec:\n\(text)")
        check(SpecFile.export(back) == text, "the export of the export differs:\n\(text)")
    }
}
