import Foundation
import HVBroker
import HVProtocol
import HVTestSupport
import Testing

struct HostPolicyTests {
    static let example = """
        limits:
          vcpus: 8
          memory: 16GiB
          disk: 500GiB
        groups:
          hypervisor-operators: {vms: 3, vcpus: 8, memory: 8GiB, disk: 100GiB}
          lab: {vms: 10}
        bridges: [br0]
        pools: [hypervisor-images, fast]
        default_network: lab
        iso: {max_size: 8GiB, keyring: /etc/hypernixos/iso-keyring.gpg}
        """

    @Test func readsEveryField() throws {
        let policy = try HostPolicy.parse(Self.example)
        #expect(policy.limits == HostPolicy.Limits(vcpus: 8, memory: .gibibytes(16), disk: .gibibytes(500)))
        #expect(policy.groups["hypervisor-operators"] == HostPolicy.GroupQuota(vms: 3, vcpus: 8, memory: .gibibytes(8), disk: .gibibytes(100)))
        #expect(policy.groups["lab"]?.vcpus == nil)
        #expect(policy.bridges == ["br0"])
        #expect(policy.pools == ["hypervisor-images", "fast"])
        #expect(policy.defaultNetwork == "lab")
        #expect(policy.iso.maxSize == .gibibytes(8))
        #expect(policy.iso.keyring == "/etc/hypernixos/iso-keyring.gpg")
    }

    /// The shipped example reads to what its comments say, in Yams's own number forms as before.
    @Test func theShippedExampleReads() throws {
        let policy = try HostPolicy.load(path: PolicyFiles.root.appendingPathComponent("docs/examples/policy.yaml").path)
        #expect(policy.limits == HostPolicy.Limits(vcpus: 8, memory: .gibibytes(32), disk: .tebibytes(1)))
        #expect(
            policy.groups == [
                "hypervisor-operators": HostPolicy.GroupQuota(vms: 20, vcpus: 32, memory: .gibibytes(64), disk: .tebibytes(2), images: .gibibytes(100))
            ]
        )
        #expect(policy.bridges == ["br0"] && policy.pools == ["hypervisor-images"] && policy.defaultNetwork == "default")
        #expect(policy.iso == HostPolicy.IsoPolicy(maxSize: .gibibytes(16), maxTotal: .gibibytes(200), keyring: "/etc/hypernixos/iso-keyring.gpg"))
        #expect(try HostPolicy.parse("limits: {vcpus: 0x10, memory: 1_073_741_824}").limits.vcpus == 16)
        #expect(try HostPolicy.parse("limits: {memory: 1_073_741_824}").limits.memory == .gibibytes(1))
    }

    @Test(arguments: YAMLRuleBreak.all)
    func theYAMLRulesAreKept(_ rule: YAMLRuleBreak) throws {
        let path = "/etc/hypernixos/policy.yaml"
        let error = try #require(throws: PolicyError.self) { try HostPolicy.parse(rule.text(breaking: Self.example + "\n"), path: path) }
        #expect(error.description.hasPrefix(path))
        #expect(rule.unsaid(in: error.description, valid: Self.example + "\n") == [], "\(error)")
        #expect(error.fix?.isEmpty == false)
    }

    @Test func missingFileAndEmptyFileGiveDefaults() throws {
        #expect(try HostPolicy.load(path: "/nonexistent/policy.yaml") == HostPolicy())
        #expect(try HostPolicy.parse("") == HostPolicy())
        #expect(HostPolicy().bridges.isEmpty)
    }

    @Test(arguments: [
        ("limits: {vcpu: 4}", "limits.vcpu"),
        ("groups: {ops: {vcpus: -1}}", "groups.ops.vcpus"),
        ("bridges: [../etc]", "bridges[0]"),
        ("limits: {memory: lots}", "limits.memory"),
        ("iso: {keyring: relative.gpg}", "iso.keyring"),
        ("groups: {lab: {image: 10GiB}}", "groups.lab.image"),
        ("groups: {lab: {images: -1}}", "groups.lab.images"),
        ("groups: {lab: {images: lots}}", "groups.lab.images"),
        ("groups: {lab: {images: 99999999TiB}}", "groups.lab.images"),
        ("iso: {max_totl: 10GiB}", "iso.max_totl"),
        ("iso: {max_total: -5GiB}", "iso.max_total"),
        ("iso: {max_total: [10GiB]}", "iso.max_total"),
    ])
    func invalidPolicyNamesTheField(text: String, field: String) {
        #expect {
            _ = try HostPolicy.parse(text, path: "/etc/hypernixos/policy.yaml")
        } throws: { error in
            guard let error = error as? PolicyError else { return false }
            return error.field == field && error.description.contains("/etc/hypernixos/policy.yaml")
        }
    }

    /// The totals on stored images: the library's, and each group's beside its machine quotas.
    @Test func readsTheImageTotals() throws {
        let policy = try HostPolicy.parse("groups: {lab: {vms: 2, images: 20GiB}, web: {}}\niso: {max_total: 200GiB}\n")
        #expect(policy.groups["lab"] == HostPolicy.GroupQuota(vms: 2, images: .gibibytes(20)))
        #expect(policy.groups["web"]?.images == nil, "a group without images is not limited")
        #expect(policy.iso.maxTotal == .gibibytes(200))
        #expect(policy.iso.maxSize == .gibibytes(16), "max_size keeps its default")
        #expect(try HostPolicy.parse("groups: {lab: {images: 0}}").groups["lab"]?.images == ByteSize(bytes: 0), "no images at all")
    }

    @Test func machineOverAPerMachineLimitIsRefusedNamingTheLimit() throws {
        let policy = try HostPolicy.parse(Self.example)
        try policy.checkMachine(Usage(vms: 1, vcpus: 8, memory: .gibibytes(16), disk: .gibibytes(500)))
        #expect {
            try policy.checkMachine(Usage(vms: 1, vcpus: 9, memory: .gibibytes(1), disk: .gibibytes(1)))
        } throws: { error in
            (error as? HVError)?.code == .quotaExceeded && (error as? HVError)?.details["limit"] == "limits.vcpus"
        }
        #expect {
            try policy.checkMachine(Usage(vms: 1, vcpus: 1, memory: .gibibytes(1), disk: .gibibytes(501)))
        } throws: { error in (error as? HVError)?.details["limit"] == "limits.disk" }
    }

    @Test func groupQuotaCountsWhatIsAlreadyUsed() throws {
        let policy = try HostPolicy.parse(Self.example)
        let group = policy.quotaGroup(for: ["users", "hypervisor-operators", "lab"])
        #expect(group == "hypervisor-operators")
        let used = Usage(vms: 2, vcpus: 6, memory: .gibibytes(4), disk: .gibibytes(40))
        let small = Usage(vms: 1, vcpus: 2, memory: .gibibytes(4), disk: .gibibytes(60))
        try policy.checkGroup(group, current: used, removing: Usage(), adding: small)
        let error = #expect(throws: HVError.self) {
            try policy.checkGroup(group, current: used, removing: Usage(), adding: Usage(vms: 1, vcpus: 4, memory: .gibibytes(1), disk: .gibibytes(1)))
        }
        #expect(error?.details["limit"] == "groups.hypervisor-operators.vcpus")
        #expect(error?.reason.contains("6 vCPUs") == true)
        #expect(error?.exitCode == 6)
    }

    @Test func shrinkingAMachineIsAllowedEvenOverQuota() throws {
        let policy = try HostPolicy.parse(Self.example)
        let overUsed = Usage(vms: 4, vcpus: 12, memory: .gibibytes(12), disk: .gibibytes(200))
        let before = Usage(vms: 1, vcpus: 4, memory: .gibibytes(4), disk: .gibibytes(50))
        let after = Usage(vms: 1, vcpus: 2, memory: .gibibytes(2), disk: .gibibytes(50))
        try policy.checkGroup("hypervisor-operators", current: overUsed, removing: before, adding: after)
    }

    @Test func callerWithoutAQuotaGroupIsOnlyLimitedPerMachine() throws {
        let policy = try HostPolicy.parse(Self.example)
        #expect(policy.quotaGroup(for: ["users"]) == nil)
        try policy.checkGroup(nil, current: Usage(vms: 100), removing: Usage(), adding: Usage(vms: 1))
    }

    @Test func rootBelongsToItsGroups() {
        #expect(CallerGroups.names(uid: 0).contains("root"))
        #expect(CallerGroups.names(uid: 4_000_000_000).isEmpty)
    }
}
