import Foundation
import Synchronization

/// One template brought in by `Image.Import`: where it came from and the group it is charged to.
struct ImportedTemplate: Codable, Sendable, Hashable {
    var pool: String
    var volume: String
    var group: String
    var sha256: String
    var sourceFormat: String
    var source: String?
    var addedBy: UInt32
    var addedAt: Date
}

/// The templates brought in by `Image.Import`, kept by the broker in
/// `STATE/imported-templates.json`: what their volumes occupy counts toward their groups'
/// `groups.NAME.images`, until the volume is deleted.
struct ImportedTemplates {
    let path: String
    /// Read-modify-write of the file, for imports and deletions that run at once.
    private static let writing = Mutex(())

    init(stateDirectory: String) {
        path = stateDirectory + "/imported-templates.json"
    }

    func all() -> [ImportedTemplate] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return (try? decoder.decode([ImportedTemplate].self, from: data)) ?? []
    }

    func add(_ template: ImportedTemplate) throws {
        try Self.writing.withLock { _ in
            try write(all().filter { $0.pool != template.pool || $0.volume != template.volume } + [template])
        }
    }

    func remove(pool: String, volume: String) throws {
        try Self.writing.withLock { _ in
            let records = all()
            let kept = records.filter { $0.pool != pool || $0.volume != volume }
            guard kept.count != records.count else { return }
            try write(kept)
        }
    }

    private func write(_ records: [ImportedTemplate]) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try encoder.encode(records.sorted { ($0.pool, $0.volume) < ($1.pool, $1.volume) })
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
