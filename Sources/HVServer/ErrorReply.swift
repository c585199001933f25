import HVProtocol

/// The Varlink error reply for a problem a server finds before any method is known: an oversized
/// or half-sent message, too many clients, a refused descriptor.
public enum ErrorReply {
    /// The encoded reply (without its NUL terminator).
    public static func encode(_ error: HVError) -> [UInt8] {
        let reply = VarlinkReply(parameters: error.varlinkParameters, error: error.varlinkName(interface: ""))
        return (try? VarlinkJSON.encode(reply)) ?? []
    }
}
