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

    /// `hv image import --explain`: how the file reaches the broker, the probe that refuses unsafe
    /// images, the conversion of a raw image, and the action that authorizes it.
    @Test func imageImportShowsTheProbeAndTheAction() {
        let downloaded = Explanation.imageImport("https://example.org/noble.img", "noble", format: "qcow2").text
        #expect(downloaded.contains("curl -fLC - -o noble 'https://example.org/noble.img'"))
        #expect(downloaded.contains("qemu-img info --output=json -f qcow2 -U noble"))
        #expect(!downloaded.contains("qemu-img convert"))
        #expect(downloaded.contains("authorized by: polkit action org.hypernixos.image.import (granted to hypervisor-operators)"))
        let raw = Explanation.imageImport("./disk.img", "disk", format: "raw", local: true).text
        #expect(raw.contains("exec 3< './disk.img'") && raw.contains("-f raw") && raw.contains("qemu-img convert -f raw -O qcow2"))
    }
}
