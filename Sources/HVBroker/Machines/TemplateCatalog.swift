import Foundation

/// The volumes marked as templates, kept by the broker in `STATE/templates.json` as `pool/volume`
/// names. A template is read-only: disks and linked clones are copy-on-write overlays of it.
struct TemplateCatalog {
    let path: String

    init(stateDirectory: String) {
        path = stateDirectory + "/templates.json"
    }

    func all() -> Set<String> {
        guard let data = FileManager.default.contents(atPath: path),
            let names = try? JSONDecoder().decode([String].self, from: data)
        else { return [] }
        return Set(names)
    }

    func contains(pool: String, volume: String) -> Bool { all().contains("\(pool)/\(volume)") }

    func add(pool: String, volume: String) throws {
        var names = all()
        names.insert("\(pool)/\(volume)")
        try write(names)
    }

    func remove(pool: String, volume: String) throws {
        var names = all()
        guard names.remove("\(pool)/\(volume)") != nil else { return }
        try write(names)
    }

    private func write(_ names: Set<String>) throws {
        let data = try JSONEncoder().encode(names.sorted())
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
