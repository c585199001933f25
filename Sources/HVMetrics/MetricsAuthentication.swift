import Foundation
import HTTPTypes
import HVSystem

/// Who may read `/metrics`: whoever presents the monitor's token, either as
/// `Authorization: Bearer TOKEN` (Prometheus' `authorization: {credentials_file: ...}`) or, when a
/// basic-auth user is named, as HTTP basic authentication with that user and the token as the
/// password (Prometheus' `basic_auth: {username: ..., password_file: ...}`).
///
/// The token is compared in constant time, and neither `description` nor a mirror shows it.
public struct MetricsAuthentication: Sendable, CustomStringConvertible, CustomReflectable {
    /// The realm named in `WWW-Authenticate`.
    public static let realm = "hv-monitor"
    /// Tokens shorter than this are refused as guessable; the setup writes 64 hex digits.
    public static let minimumTokenLength = 16

    private let token: [UInt8]
    /// The user name basic authentication expects; nil accepts bearer tokens only.
    public let basicAuthUser: String?

    /// A token of at least ``minimumTokenLength`` visible ASCII characters (no spaces), and an
    /// optional basic-auth user name without a colon.
    public init(token: String, basicAuthUser: String? = nil) throws(MetricsError) {
        let bytes = Array(token.utf8)
        guard bytes.count >= Self.minimumTokenLength, bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw MetricsError(
                .credentialsInvalid,
                "the token must be at least \(Self.minimumTokenLength) visible ASCII characters without spaces",
                fix: "write a random one: od -An -N32 -tx1 /dev/urandom | tr -d ' \\n' > FILE")
        }
        if let user = basicAuthUser {
            let printable = !user.contains { $0 == ":" || $0.isNewline || $0 == "\0" }
            guard (1...256).contains(user.count), printable else {
                throw MetricsError(
                    .credentialsInvalid, "the basic-auth user must be a name of 1 to 256 characters without ':'")
            }
        }
        self.token = bytes
        self.basicAuthUser = basicAuthUser
    }

    /// Reads the token from `tokenFile` (its one line, the trailing newline dropped), after
    /// ``SecretFile/metricsCredentials``' checks of owner and mode.
    public static func load(
        tokenFile: String, basicAuthUser: String? = nil, field: String = "web.bearer_token_file"
    ) throws(MetricsError) -> MetricsAuthentication {
        let token: String
        do {
            token = try SecretFile.metricsCredentials.readText(tokenFile, field: field)
        } catch {
            throw MetricsError(error)
        }
        do {
            return try MetricsAuthentication(token: token, basicAuthUser: basicAuthUser)
        } catch {
            throw MetricsError(error.code, "\(field): \(tokenFile): \(error.reason)", fix: error.fix)
        }
    }

    /// Whether the request carries the token: exactly one `Authorization` header, with the scheme
    /// `Bearer`, or `Basic` when a basic-auth user is set.
    public func admits(_ headers: HTTPFields) -> Bool {
        let values = headers[values: .authorization]
        guard values.count == 1, let value = values.first else { return false }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return false }
        let credentials = parts[1].drop { $0 == " " }
        switch parts[0].lowercased() {
        case "bearer":
            return Self.constantTimeEqual(Array(credentials.utf8), token)
        case "basic":
            guard let user = basicAuthUser, let decoded = Data(base64Encoded: String(credentials)) else { return false }
            let pair = Array(decoded)
            guard let colon = pair.firstIndex(of: UInt8(ascii: ":")) else { return false }
            // Both comparisons run whatever the first says.
            let userMatches = Self.constantTimeEqual(Array(pair[..<colon]), Array(user.utf8))
            let tokenMatches = Self.constantTimeEqual(Array(pair[(colon + 1)...]), token)
            return userMatches && tokenMatches
        default:
            return false
        }
    }

    /// The `WWW-Authenticate` values of a 401 answer.
    public var challenges: [String] {
        let bearer = "Bearer realm=\"\(Self.realm)\""
        return basicAuthUser == nil ? [bearer] : [bearer, "Basic realm=\"\(Self.realm)\", charset=\"UTF-8\""]
    }

    /// The body of a 401 answer: how to authenticate, and nothing else.
    public var refusal: String {
        var text = """
            authentication required: send the token in the monitor's web.bearer_token_file (readable by \
            hypervisor-viewers) as "Authorization: Bearer TOKEN"
            """
        if basicAuthUser != nil { text += ", or as the password of web.basic_auth_user with basic authentication" }
        return text + "\n"
    }

    /// Compares in time that depends only on the length of `expected`.
    static func constantTimeEqual(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference: UInt8 = given.count == expected.count ? 0 : 1
        for index in expected.indices {
            difference |= (index < given.count ? given[index] : 0) ^ expected[index]
        }
        return difference == 0
    }

    public var description: String {
        basicAuthUser.map { "bearer token or basic auth as \($0)" } ?? "bearer token"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["basicAuthUser": basicAuthUser as Any])
    }
}

extension SecretFile {
    /// The files holding the `/metrics` credentials, the token and the TLS key: owned by root (or
    /// the monitor's user) and readable by the group `hypervisor-viewers`, whose members may scrape.
    public static let metricsCredentials = SecretFile(
        group: "hypervisor-viewers", creator: "scripts/setup.sh and the NixOS module do")
}
