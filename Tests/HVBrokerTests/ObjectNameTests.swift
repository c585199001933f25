import HVBroker
import HVProtocol
import Testing

/// Snapshots, networks, pools and groups are named like machines, and a bad name is called by
/// what it names: `hv snapshot create web 'a b'` used to say "not a valid machine name".
@Suite struct ObjectNameTests {
    @Test(arguments: [
        (Method.snapshotCreate, ["vm": "web", "name": "a b"], "snapshot"),
        (Method.snapshotRevert, ["vm": "web", "name": "a b"], "snapshot"),
        (Method.snapshotDelete, ["vm": "web", "name": "-s1"], "snapshot"),
        (Method.networkStart, ["name": "a b"], "network"),
        (Method.storageListVolumes, ["pool": "a b"], "pool"),
        (Method.vmAdopt, ["name": "web", "group": "a b"], "group"),
        (Method.snapshotCreate, ["vm": "a b", "name": "s1"], "machine"),
        (Method.vmStart, ["name": "a b"], "machine"),
    ])
    func aBadNameIsCalledByWhatItNames(method: String, parameters: [String: String], kind: String) {
        let error = #expect(throws: HVError.self) {
            _ = try Request(VarlinkCall(method: method, parameters: parameters.mapValues(JSONValue.string)))
        }
        #expect(error?.code == .invalidSpec)
        #expect(error?.reason.contains("is not a valid \(kind) name") == true, "\(String(describing: error))")
    }
}
