import Foundation
import HVProtocol
import Testing

@Suite struct HostFeatureSyntaxTests {
    @Test(arguments: [("2", [2]), ("0-3,8", [0, 1, 2, 3, 8]), ("5,1-2,2", [1, 2, 5]), ("7-7", [7])])
    func cpuListsParse(text: String, expected: [Int]) throws {
        #expect(try HostFeatureSyntax.cpus(text, field: "cpus") == expected)
    }

    @Test(arguments: ["", "a", "1-", "-1", "3-1", "1,,2", "1;2", "9000", "1-2-3", " 1", "+1"])
    func malformedCPUListsAreRefusedWithTheField(text: String) {
        let error = #expect(throws: HVError.self) { _ = try HostFeatureSyntax.cpus(text, field: "pins[2].cpus") }
        #expect(error?.code == .invalidParameter && error?.reason.hasPrefix("pins[2].cpus:") == true, "\(String(describing: error))")
    }

    @Test func cpuListsAreWrittenCompactly() {
        #expect(HostFeatureSyntax.cpuList([5, 0, 1, 2, 7, 8]) == "0-2,5,7-8")
        #expect(HostFeatureSyntax.cpuList([3]) == "3")
    }

    @Test func pciAddressesGetTheirDomainAndLowerCase() throws {
        #expect(try HostFeatureSyntax.pciAddress("01:00.1", field: "pci[0]") == "0000:01:00.1")
        #expect(try HostFeatureSyntax.pciAddress("0000:AF:1F.7", field: "pci[0]") == "0000:af:1f.7")
    }

    @Test(arguments: ["0000:01:20.0", "0000:01:00.8", "1:00.0", "0000:01:00", "../../etc/shadow", "0000:01:00.0/../x", "gggg:01:00.0", ""])
    func malformedPCIAddressesAreRefused(text: String) {
        let error = #expect(throws: HVError.self) { _ = try HostFeatureSyntax.pciAddress(text, field: "pci[1]") }
        #expect(error?.details["parameter"] == "pci[1]")
    }

    @Test func usbIDsAreVendorColonProduct() throws {
        #expect(try HostFeatureSyntax.usbID("046D:C52B", field: "usb[0]") == "046d:c52b")
        for bad in ["046d", "046d:c52", "046d:c52b:1", "zzzz:0001", "046d:c52b'/>"] {
            #expect(throws: HVError.self) { _ = try HostFeatureSyntax.usbID(bad, field: "usb[0]") }
        }
    }

    @Test func pinsAreSortedCanonicalAndUnique() throws {
        let pins = try HostFeatureSyntax.pins([CpuPin(vcpu: 1, cpus: "3,2"), CpuPin(vcpu: 0, cpus: "0-1")])
        #expect(pins == [CpuPin(vcpu: 0, cpus: "0-1"), CpuPin(vcpu: 1, cpus: "2-3")])
        let twice = #expect(throws: HVError.self) { _ = try HostFeatureSyntax.pins([CpuPin(vcpu: 0, cpus: "1"), CpuPin(vcpu: 0, cpus: "2")]) }
        #expect(twice?.reason.contains("pinned twice") == true)
        #expect(throws: HVError.self) { _ = try HostFeatureSyntax.pins([CpuPin(vcpu: 64, cpus: "1")]) }
    }

    @Test func devicesAreNamedOnce() throws {
        let devices = try HostFeatureSyntax.devices(pci: ["01:00.0"], usb: ["046D:C52B"])
        #expect(devices.pci == ["0000:01:00.0"] && devices.usb == ["046d:c52b"])
        let twice = #expect(throws: HVError.self) { _ = try HostFeatureSyntax.devices(pci: ["01:00.0", "0000:01:00.0"], usb: []) }
        #expect(twice?.reason.contains("listed twice") == true)
        let many = (0..<17).map { String(format: "0000:01:%02x.0", $0) }
        #expect(throws: HVError.self) { _ = try HostFeatureSyntax.devices(pci: many, usb: []) }
    }
}
