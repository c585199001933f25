import HVProtocol
import HVTestSupport
import Testing

/// The rules every YAML file is read under, each refused in a spec file with the problem named.
@Suite struct YAMLRulesTests {
    @Test(arguments: YAMLRuleBreak.all)
    func eachRuleIsKept(_ rule: YAMLRuleBreak) throws {
        #expect(readError(minimal()) == nil)
        let error = try #require(readError(rule.text(breaking: minimal())))
        #expect(error.code == .invalidSpec)
        #expect(error.reason.hasPrefix("web1.yaml: "))
        #expect(rule.unsaid(in: error.reason, valid: minimal()) == [], "\(error)")
        #expect(error.fix?.isEmpty == false)
    }
}
