import HVPresentation
import Testing

@Suite struct ProgressBarTests {
    @Test(arguments: [
        (UInt64(0), "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"),
        (700 << 20, "700.0 MiB"), (UInt64(4.2 * Double(1 << 30)), "4.2 GiB"), (3 << 40, "3.0 TiB"),
    ])
    func bytesAreReadable(bytes: UInt64, text: String) {
        #expect(ProgressBar.formatBytes(bytes) == text)
    }

    @Test func lineWithTotalFillsTheWidth() {
        let line = ProgressBar.render(
            label: "debian.iso", received: 512 << 20, total: 1 << 30, bytesPerSecond: 3.5 * 1_048_576, width: 80
        )
        #expect(line.count == 80)
        #expect(line.hasPrefix("debian.iso ["))
        #expect(line.hasSuffix("]   50%  512.0 MiB / 1.0 GiB  3.5 MiB/s"))
        let bar = line.split(separator: "[")[1].split(separator: "]")[0]
        #expect(bar.filter { $0 == "#" }.count == bar.count / 2)
        #expect(bar.allSatisfy { $0 == "#" || $0 == "-" })
    }

    @Test func completeAndEmptyBars() {
        let done = ProgressBar.render(label: "a", received: 10, total: 10, bytesPerSecond: nil, width: 40)
        #expect(done == "a [" + String(repeating: "#", count: 17) + "]  100%  10 B / 10 B")
        #expect(done.count == 40)
        let empty = ProgressBar.render(label: "a", received: 0, total: 0, bytesPerSecond: nil, width: 40)
        #expect(empty.contains("100%"))
        let start = ProgressBar.render(label: "a", received: 0, total: 100, bytesPerSecond: nil, width: 40)
        #expect(start.contains("[" + String(repeating: "-", count: 17) + "]"))
        #expect(start.contains("  0%"))
    }

    @Test func withoutTotalShowsBytesAndRate() {
        let line = ProgressBar.render(label: "x.iso", received: 2048, total: nil, bytesPerSecond: 1024, width: 80)
        #expect(line == "x.iso  2.0 KiB  1.0 KiB/s")
    }

    /// `hv backup` shows the time left at the current rate.
    @Test func timeLeftFollowsTheRate() {
        let line = ProgressBar.render(
            label: "web", received: 1 << 30, total: 3 << 30, bytesPerSecond: Double(16 << 20), width: 100, showsTimeLeft: true
        )
        #expect(line.hasSuffix("1.0 GiB / 3.0 GiB  16.0 MiB/s  2m08s left"), "\(line)")
        let plain = ProgressBar.render(label: "web", received: 1 << 30, total: 3 << 30, bytesPerSecond: Double(16 << 20), width: 100)
        #expect(!plain.contains("left"))
        #expect(ProgressBar.formatSeconds(0.2) == "1s")
        #expect(ProgressBar.formatSeconds(3725) == "1h02m")
    }

    @Test func narrowTerminalDropsTheBar() {
        let line = ProgressBar.render(label: "image.iso", received: 1, total: 4, bytesPerSecond: nil, width: 20)
        #expect(line == "image.iso   25%  1 B / 4 B")
    }

    @Test func longLabelsAreShortened() {
        let line = ProgressBar.render(
            label: String(repeating: "n", count: 40), received: 1, total: nil, bytesPerSecond: nil, width: 80
        )
        #expect(line == String(repeating: "n", count: 23) + "…  1 B")
    }

    @Test func rateCoversTheRecentWindow() {
        var rate = TransferRate(window: .seconds(3))
        #expect(rate.bytesPerSecond == nil)
        rate.add(bytes: 0, at: .zero)
        #expect(rate.bytesPerSecond == nil)
        for second in 1...10 {
            rate.add(bytes: UInt64(second) * 1000, at: .seconds(second))
        }
        #expect(rate.bytesPerSecond == 1000)
        // A stall shows once the window has moved past the last bytes.
        for second in 11...14 {
            rate.add(bytes: 10_000, at: .seconds(second))
        }
        #expect(rate.bytesPerSecond == 0)
    }

    @Test func closeSamplesAreMerged() {
        var rate = TransferRate(window: .seconds(3))
        for tick in 0...1000 {
            rate.add(bytes: UInt64(tick) * 10, at: .milliseconds(tick))
        }
        // 10 bytes per millisecond, whatever the merging did.
        #expect(rate.bytesPerSecond == 10_000)
    }
}
