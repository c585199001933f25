import Foundation
import HVProtocol

/// The `bridge:NAME` checks: each active network's host bridge, read from sysfs.
public enum BridgeCheck {
    /// IFF_UP in `/sys/class/net/NAME/flags`: the interface is administratively up.
    static let interfaceUp = 0x1

    /// One check per active network with a bridge. `sysfsRoot` is `/sys` outside tests.
    public static func checks(networks: [NetworkStatus], sysfsRoot: String = "/sys") -> [HealthCheck] {
        var seen: Set<String> = []
        return networks.filter(\.active).sorted { $0.name < $1.name }.compactMap { network in
            guard let bridge = network.bridge, seen.insert(bridge).inserted else { return nil }
            return check(bridge: bridge, network: network.name, sysfsRoot: sysfsRoot)
        }
    }

    public static func check(bridge: String, network: String, sysfsRoot: String) -> HealthCheck {
        let id = "bridge:\(bridge)"
        let title = "bridge \(bridge) up"
        let directory = sysfsRoot + "/class/net/" + bridge
        // A bridge name from libvirt never holds a slash; refuse one rather than read elsewhere.
        guard !bridge.contains("/"), !bridge.isEmpty, let operstate = read(directory + "/operstate") else {
            return HealthCheck(
                id: id, title: title, status: .critical, value: "missing",
                explanation: "Network \(network) is active but its bridge does not exist, so its machines have no network.",
                fix: "restart the network: virsh -c qemu:///system net-destroy \(network) && virsh -c qemu:///system net-start \(network)"
            )
        }
        let flags = read(directory + "/flags").flatMap { Int($0.dropFirst(2), radix: 16) } ?? 0
        guard flags & interfaceUp != 0 else {
            return HealthCheck(
                id: id, title: title, status: .critical, value: "administratively down (operstate \(operstate))",
                explanation: "The bridge of network \(network) was taken down, so its machines have no network.",
                fix: "bring it up: ip link set \(bridge) up (or restart network \(network))"
            )
        }
        switch operstate {
        case "up", "unknown":
            return HealthCheck(
                id: id, title: title, status: .ok, value: operstate == "up" ? "up" : "up (operstate unknown)",
                explanation: "The bridge of network \(network) carries traffic.", fix: nil
            )
        default:
            return HealthCheck(
                id: id, title: title, status: .ok, value: "up, no carrier (operstate \(operstate))",
                explanation: "The bridge of network \(network) is up; it has no carrier until a machine attaches to it.",
                fix: nil
            )
        }
    }

    static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
