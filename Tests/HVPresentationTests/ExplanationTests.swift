import HVPresentation
import HVProtocol
import Testing

@Suite struct ExplanationTests {
    /// `--explain` prints the explanation and says that nothing was done and how to do it.
    @Test(arguments: [Explanation.kill("web"), .snapshotDelete("web", "s1"), .list(), .alertsSilence("host-cpu-high")])
    func explainingSaysNothingWasDone(explanation: Explanation) {
        let text = explanation.explainOnlyText
        #expect(text.hasPrefix(explanation.text + "\n"))
        #expect(text.hasSuffix("\nnothing was done; run it again without --explain"))
    }

    @Test func theReadmeExampleIsWhatKillPrints() {
        #expect(Explanation.kill("web").explainOnlyText == """
            equivalent: virsh -c qemu:///system destroy web
            what it does: Stops the machine at once, like pulling the power cord: the guest gets no chance to write its data.
            authorized by: polkit action org.hypernixos.vm.kill (granted to hypervisor-operators)
            nothing was done; run it again without --explain
            """)
    }
}
