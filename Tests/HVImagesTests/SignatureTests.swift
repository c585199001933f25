import Foundation
import Glibc
import HVImages
import HVProtocol
import HVTestSupport
import Testing

/// A throwaway OpenPGP key in a private GNUPGHOME, with its public key exported to a keyring file.
private final class SigningKey {
    let directory: TemporaryDirectory
    let keyring: String
    private var environment: [String: String] { ["GNUPGHOME": directory.file("home")] }

    init() throws {
        directory = try TemporaryDirectory("hv-gpg")
        try FileManager.default.createDirectory(
            atPath: directory.file("home"), withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700]
        )
        keyring = directory.file("keyring.gpg")
        try mustRun(
            ["/usr/bin/gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Image Signer <signer@example.invalid>",
             "ed25519", "sign", "never"],
            environment: environment
        )
        try mustRun(["/usr/bin/gpg", "--batch", "--output", keyring, "--export"], environment: environment)
    }

    /// A detached signature of the file at `path`.
    func sign(_ path: String) throws -> Data {
        let signature = directory.file("signature-\(UUID().uuidString)")
        try mustRun(["/usr/bin/gpg", "--batch", "--output", signature, "--detach-sign", path], environment: environment)
        return try Data(contentsOf: URL(fileURLWithPath: signature))
    }

    deinit {
        // gpg started an agent for this home; stop it.
        _ = try? run(["/usr/bin/gpgconf", "--kill", "all"], environment: environment)
    }
}

@Suite(.enabled(if: installed(.gpgv) && installed(Tool("gpg", debianPackage: "gpg")), "gpg or gpgv is not installed (Debian packages gpg, gpgv)"))
struct SignatureTests {
    let sources: TemporaryDirectory
    let directory: TemporaryDirectory
    let library: IsoLibrary

    init() throws {
        sources = try TemporaryDirectory("hv-iso-sources")
        directory = try TemporaryDirectory("hv-isos")
        library = IsoLibrary(directory: directory.path)
    }

    private func add(_ path: String, signature: Data, keyring: String?) throws -> IsoEntry {
        let fd = try openForReading(path)
        return try library.add(
            from: fd, name: "signed.iso", expectedSHA256: try sha256sum(path), maximumBytes: 1 << 20,
            signature: signature, keyring: keyring, addedBy: 1000
        )
    }

    @Test func aGoodSignatureIsAcceptedAndABadOneKeepsNothing() throws {
        let key = try SigningKey()
        let image = try sources.write("image.iso", randomBytes(200_000))
        let other = try sources.write("other.iso", randomBytes(200_000))

        let wrongFile = #expect(throws: ImageError.self) { try add(image, signature: try key.sign(other), keyring: key.keyring) }
        #expect(wrongFile?.code == .signatureRejected)
        #expect(wrongFile?.reason.contains("BADSIG") == true)
        #expect(wrongFile?.hvError.code == .invalidParameter)
        #expect(try directory.names() == [])

        let garbage = #expect(throws: ImageError.self) { try add(image, signature: Data(randomBytes(300)), keyring: key.keyring) }
        #expect(garbage?.code == .signatureRejected)
        #expect(try directory.names() == [])

        let entry = try add(image, signature: try key.sign(image), keyring: key.keyring)
        #expect(entry.record?.signatureVerified == true)
        #expect(try directory.names() == [".signed.iso.json", "signed.iso"])
    }

    @Test func aKeyNotInTheKeyringIsRefused() throws {
        let key = try SigningKey()
        let image = try sources.write("image.iso", randomBytes(10_000))
        let emptyKeyring = try sources.write("empty.gpg", [])
        let error = #expect(throws: ImageError.self) { try add(image, signature: try key.sign(image), keyring: emptyKeyring) }
        #expect(error?.code == .signatureRejected)
        #expect(try directory.names() == [])
    }

    @Test func aMissingKeyringIsRefused() throws {
        let image = try sources.write("image.iso", randomBytes(10_000))
        let error = #expect(throws: ImageError.self) {
            try add(image, signature: Data("x".utf8), keyring: sources.file("no-such-keyring.gpg"))
        }
        #expect(error?.code == .notConfigured)
        #expect(error?.hvError.code == .invalidState)
        #expect(try directory.names() == [])
    }
}
