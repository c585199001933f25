import Foundation
import Glibc
import HVSystem

/// Checks a detached OpenPGP signature with `gpgv` against the administrator's keyring.
/// Anything but a clean, valid signature over the given file is a refusal.
public struct SignatureVerifier: Sendable {
    public var runner: ProcessRunner
    /// The absolute path of the keyring holding the trusted public keys.
    public var keyring: String
    /// The longest a check may take (gpgv reads the whole image).
    public var timeout: Duration

    /// Fails with `notConfigured` when no keyring is configured or the keyring is not a readable file.
    public init(runner: ProcessRunner = ProcessRunner(), keyring: String?, timeout: Duration = .seconds(900)) throws(ImageError) {
        guard let keyring, !keyring.isEmpty else {
            throw ImageError(
                .notConfigured, "a signature was given, but the broker has no keyring to check signatures against",
                fix: "ask the administrator to configure the broker's signing keyring, or add the image without a signature"
            )
        }
        var info = stat()
        guard keyring.hasPrefix("/"), stat(keyring, &info) == 0, info.isRegularFile else {
            throw ImageError(
                .notConfigured, "the signing keyring '\(keyring)' is not a file",
                fix: "configure the absolute path of an exported public keyring (gpg --export KEY > FILE)"
            )
        }
        self.runner = runner
        self.keyring = keyring
        self.timeout = timeout
    }

    static func checkSize(_ signature: Data) throws(ImageError) {
        guard !signature.isEmpty, signature.count <= IsoLibrary.maximumSignatureBytes else {
            throw ImageError(
                .invalidParameter, "a detached signature must be 1 to \(IsoLibrary.maximumSignatureBytes) bytes long",
                fix: "give the .sig or .asc file published with the image", parameter: "signature"
            )
        }
    }

    /// Runs `gpgv --keyring KEYRING SIGFILE DATAFILE` on the file `name` in `directory` (open as
    /// `library`), writing the signature to a private temporary file there first.
    func verify(signature: Data, fileNamed name: String, in directory: String, library: Descriptor) throws(ImageError) {
        let (signatureName, signatureFile) = try io { try library.createUnique(prefix: ".signature") }
        defer { try? library.removeEntry(signatureName) }
        try io { try signatureFile.writeAll(Array(signature)) }
        let output = try runner.run(
            .gpgv,
            ["--status-fd", "1", "--keyring", keyring, directory + "/" + signatureName, directory + "/" + name],
            timeout: timeout
        )
        let status = Set(
            output.stdoutText.split(whereSeparator: \.isNewline).compactMap { line in
                line.hasPrefix("[GNUPG:] ") ? line.dropFirst(9).split(separator: " ").first.map(String.init) : nil
            }
        )
        let refusals: Set = ["BADSIG", "ERRSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "NO_PUBKEY", "NODATA", "PLAINTEXT"]
        guard output.succeeded, status.contains("VALIDSIG"), status.isDisjoint(with: refusals) else {
            let reasons = status.intersection(refusals).sorted().joined(separator: ", ")
            throw ImageError(
                .signatureRejected,
                "the signature does not verify against the keyring \(keyring)"
                    + (reasons.isEmpty ? "" : " (\(reasons))") + "; nothing was kept",
                fix: "check that the signature belongs to this image and that its key is in the broker's keyring",
                parameter: "signature"
            )
        }
    }
}
