import Foundation

extension Repository {
    /// `repository.json`: never encrypted, since it says how to open the rest; it holds the key's
    /// fingerprint, never the key.
    struct Configuration: Codable, Hashable {
        static let currentFormat = 1
        static let aes256GCM = "aes-256-gcm"

        var format: Int
        var chunkSize: Int
        /// `none` or `aes-256-gcm`.
        var encryption: String
        var keyFingerprint: String?

        var encoded: [UInt8] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            return Array((try? encoder.encode(self)) ?? Data()) + [UInt8(ascii: "\n")]
        }

        static func decode(_ bytes: [UInt8], path: String) throws(BackupError) -> Configuration {
            guard let configuration = try? JSONDecoder().decode(Configuration.self, from: Data(bytes)) else {
                throw BackupError(.corrupt, "\(path)/\(Repository.configurationFile) is damaged")
            }
            guard configuration.format == currentFormat else {
                throw BackupError(
                    .invalidState,
                    "the repository \(path) has format \(configuration.format); this version reads format \(currentFormat)",
                    fix: "use the version of Hyper-NixOS that wrote it")
            }
            let chunkSize = configuration.chunkSize
            let encrypted = configuration.encryption == aes256GCM && configuration.keyFingerprint != nil
            let plain = configuration.encryption == "none" && configuration.keyFingerprint == nil
            guard chunkSize >= Repository.minimumChunkSize, chunkSize <= Repository.maximumChunkSize,
                chunkSize % Repository.minimumChunkSize == 0, encrypted || plain
            else {
                throw BackupError(.corrupt, "\(path)/\(Repository.configurationFile) names a chunk size or encryption this version does not know")
            }
            return configuration
        }
    }
}
