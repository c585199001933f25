import HVProtocol
import Testing

@Suite struct HVErrorTests {
    @Test func survivesTheWire() {
        let error = HVError(.permissionDenied, "denied", fix: "join the group", details: ["action": "org.hypernixos.vm.start"])
        let name = error.varlinkName(interface: "org.hypernixos.Vm")
        #expect(name == "org.hypernixos.Vm.PermissionDenied")
        #expect(HVError(varlinkName: name, parameters: error.varlinkParameters) == error)
    }

    @Test func standardVarlinkErrorsKeepTheirNames() {
        #expect(HVError.invalidParameter("name", "bad").varlinkName(interface: "org.hypernixos.Vm") == "org.varlink.service.InvalidParameter")
        let thirdParty = HVError(varlinkName: "org.varlink.service.MethodNotFound", parameters: ["method": .string("x.Y")])
        #expect(thirdParty.code == .methodNotFound)
        #expect(thirdParty.reason.contains("x.Y"))
    }

    /// Denied, invalid, not found and unavailable stay distinguishable to scripts.
    @Test func exitCodesKeepCategoriesApart() {
        let codes: [HVError.Code] = [.failed, .invalidSpec, .notFound, .permissionDenied, .hypervisorUnavailable, .invalidState]
        let exits = codes.map { HVError($0, "x").exitCode }
        #expect(Set(exits).count == codes.count)
        #expect(!exits.contains(0))
    }
}
