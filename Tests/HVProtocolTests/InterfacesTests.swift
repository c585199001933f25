import HVProtocol
import Testing

@Suite struct InterfacesTests {
    static let methods = [
        Method.getInfo, Method.getInterfaceDescription, Method.hostGetInfo, Method.hostStats, Method.hostHealth, Method.vmList, Method.vmInfo, Method.vmCreate,
        Method.vmStart, Method.vmShutdown, Method.vmReboot, Method.vmKill, Method.vmDelete, Method.vmReadConsole,
        Method.auditVerify, Method.vmApply, Method.vmExport, Method.vmClone, Method.vmMakeTemplate, Method.vmLeases,
        Method.snapshotList, Method.snapshotCreate, Method.snapshotRevert, Method.snapshotDelete,
        Method.storageListPools, Method.storageListVolumes, Method.storageCreateVolume, Method.storageResizeVolume,
        Method.storageDeleteVolume, Method.storageMarkTemplate, Method.networkList, Method.networkCreate, Method.networkStart,
        Method.networkStop, Method.networkSetAutostart, Method.networkDelete, Method.isoList, Method.isoAdd, Method.isoVerify,
        Method.isoRemove, Method.eventsFollow, Method.hostAutostart, Method.vmSetHugepages, Method.vmPinCpus, Method.vmSetPassthrough,
        Method.vmAdopt,
    ]

    /// Every method we answer is declared in its interface's published definition.
    @Test(arguments: methods)
    func methodIsDeclared(method: String) throws {
        let call = VarlinkCall(method: method)
        let description = try #require(Interfaces.description(of: call.interface))
        #expect(description.contains("interface \(call.interface)\n"))
        #expect(description.contains("method \(call.member)("))
    }

    /// Every declared method is one we answer.
    @Test(arguments: Interfaces.all)
    func declaredMethodsExist(interface: String) throws {
        let description = try #require(Interfaces.description(of: interface))
        for line in description.split(separator: "\n") where line.hasPrefix("method ") {
            let name = line.dropFirst("method ".count).prefix(while: { $0 != "(" })
            #expect(Self.methods.contains("\(interface).\(name)"), "\(interface).\(name) is declared but not answered")
        }
    }

    @Test func unknownInterfaceHasNoDescription() {
        #expect(Interfaces.description(of: "org.example.Nope") == nil)
    }
}
