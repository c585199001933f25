import HVProtocol

/// An operation polkit is asked about: its action and the least-privileged group granted it.
public protocol PolkitOperation: Sendable {
    var action: String { get }
    var grantingGroup: String { get }
}

extension BrokerOperation: PolkitOperation {}
extension MonitorOperation: PolkitOperation {}

/// How every socket the broker and the monitor serve words a refusal by polkit: one text for a
/// denial (naming the action and the group that grants it) and one for polkit unreachable.
public enum Refusal {
    public static func denied(_ operation: some PolkitOperation, details: [String: String] = [:]) -> HVError {
        var details = details
        details["action"] = operation.action
        return HVError(
            .permissionDenied, "not authorized: polkit denied '\(operation.action)'",
            fix: "ask an administrator to add your user to the '\(operation.grantingGroup)' group "
                + "(usermod -aG \(operation.grantingGroup) USER); membership takes effect on the next request",
            details: details
        )
    }

    public static func unavailable(_ reason: String, fix: String) -> HVError {
        HVError(.authorizationUnavailable, "polkit could not be asked, so the request was refused: \(reason)", fix: fix)
    }
}
