import HVProtocol
import Testing

/// What `hv image import` checks before it opens or downloads anything, and the broker again
/// before polkit is asked: the same validation on both sides.
@Suite struct ImageImportParametersTests {
    let sha256 = String(repeating: "0f", count: 32)

    @Test(arguments: [
        ImageImportParameters(name: "debian-12-cloud", sha256: String(repeating: "0f", count: 32)),
        ImageImportParameters(name: "noble.qcow2", sha256: String(repeating: "AB", count: 32), format: "raw", group: "team-web"),
        ImageImportParameters(name: "x", sha256: String(repeating: "0f", count: 32), format: "qcow2", group: "_svc.ops$"),
    ])
    func validParametersPass(parameters: ImageImportParameters) throws {
        try parameters.validate()
    }

    @Test(arguments: [
        (ImageImportParameters(name: "../etc/shadow", sha256: String(repeating: "0f", count: 32)), "name"),
        (ImageImportParameters(name: "/var/lib/x", sha256: String(repeating: "0f", count: 32)), "name"),
        (ImageImportParameters(name: "cloud", sha256: "abc"), "sha256"),
        (ImageImportParameters(name: "cloud", sha256: String(repeating: "0f", count: 32), format: "vmdk"), "format"),
        (ImageImportParameters(name: "cloud", sha256: String(repeating: "0f", count: 32), format: "QCOW2"), "format"),
        (ImageImportParameters(name: "cloud", sha256: String(repeating: "0f", count: 32), group: "-team"), "group"),
        (ImageImportParameters(name: "cloud", sha256: String(repeating: "0f", count: 32), group: "team web"), "group"),
        (ImageImportParameters(name: "cloud", sha256: String(repeating: "0f", count: 32), group: String(repeating: "g", count: 33)), "group"),
        (ImageImportParameters(name: "cloud", sha256: String(repeating: "0f", count: 32), source: String(repeating: "u", count: 2049)), "source"),
    ])
    func invalidParametersNameTheField(parameters: ImageImportParameters, field: String) {
        let error = #expect(throws: HVError.self) { try parameters.validate() }
        #expect(error?.code == .invalidParameter && error?.exitCode == 2)
        #expect(error?.details["parameter"] == field, "\(String(describing: error))")
        #expect(error?.fix != nil)
    }

    @Test func groupNamesFollowGroupadd() {
        #expect(GroupNameText.problem(with: "hypervisor-operators") == nil)
        #expect(GroupNameText.problem(with: "") != nil)
        #expect(GroupNameText.problem(with: "a$b") != nil)
        #expect(GroupNameText.problem(with: "tëam") != nil)
    }
}
