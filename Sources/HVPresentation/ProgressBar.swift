import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress display for a transfer, redrawn in place on standard error, and only when
/// standard error is a terminal (scripts and logs see nothing).
public final class ProgressBar {
    public let label: String
    /// What the job is doing now (`reading vda`), shown after the label when set.
    private var phase: String?
    /// Whether the line ends with the time left at the current rate.
    private let showsTimeLeft: Bool
    private let enabled: Bool
    private let width: Int
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private var rate = TransferRate()
    private var lastDrawn: ContinuousClock.Instant?
    private var last: (received: UInt64, total: UInt64?) = (0, nil)

    /// - Parameters:
    ///   - enabled: whether to draw at all; by default, whether standard error is a terminal.
    ///   - width: the line's width in columns; by default `$COLUMNS`, else 80.
    public init(label: String, enabled: Bool = isatty(STDERR_FILENO) == 1, width: Int? = nil, showsTimeLeft: Bool = false) {
        self.label = label
        self.showsTimeLeft = showsTimeLeft
        self.enabled = enabled
        self.width = width ?? ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init) ?? 80
        started = clock.now
    }

    /// Records progress and what the job is doing; redraws at most ten times a second.
    public func update(received: UInt64, total: UInt64?, phase: String?) {
        self.phase = phase
        update(received: received, total: total)
    }

    /// Records progress; redraws at most ten times a second.
    public func update(received: UInt64, total: UInt64?) {
        let now = clock.now
        rate.add(bytes: received, at: now - started)
        last = (received, total)
        guard enabled else { return }
        if let lastDrawn, now - lastDrawn < .milliseconds(100) { return }
        lastDrawn = now
        draw()
    }

    /// Draws the final state and ends the line.
    public func finish() {
        guard enabled else { return }
        draw()
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func draw() {
        let line = Self.render(
            label: phase.map { "\(label) \($0)" } ?? label, received: last.received, total: last.total, bytesPerSecond: rate.bytesPerSecond,
            width: width, showsTimeLeft: showsTimeLeft
        )
        FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8))
    }

    /// The line for a transfer: `label [#####-----]  45%  1.2 GiB / 2.6 GiB  3.4 MiB/s`, fitted to
    /// `width` columns; without a total, just the bytes so far and the rate. `showsTimeLeft` adds
    /// the time left at that rate: `  1m05s left`.
    public static func render(
        label: String, received: UInt64, total: UInt64?, bytesPerSecond: Double?, width: Int, showsTimeLeft: Bool = false
    ) -> String {
        let name = label.count > 24 ? String(label.prefix(23)) + "…" : label
        var figures = formatBytes(received)
        if let total { figures += " / " + formatBytes(total) }
        if let bytesPerSecond, bytesPerSecond.isFinite, bytesPerSecond >= 0 {
            figures += "  " + formatBytes(UInt64(bytesPerSecond)) + "/s"
            if showsTimeLeft, let total, bytesPerSecond > 0 {
                figures += "  " + formatSeconds(Double(total - min(received, total)) / bytesPerSecond) + " left"
            }
        }
        guard let total else { return name + "  " + figures }
        let fraction = total == 0 ? 1 : min(Double(received) / Double(total), 1)
        let percent = String(Int((fraction * 100).rounded(.down)))
        let percentText = String(repeating: " ", count: max(0, 3 - percent.count)) + percent + "%"
        let fixed = name.count + 1 + 2 + 2 + percentText.count + 2 + figures.count
        let barWidth = width - fixed
        guard barWidth >= 10 else { return name + "  " + percentText + "  " + figures }
        let filled = Int((Double(barWidth) * fraction).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled)
        return name + " [" + bar + "]  " + percentText + "  " + figures
    }

    /// Whole seconds as `45s`, `3m05s` or `2h07m`.
    public static func formatSeconds(_ seconds: Double) -> String {
        let whole = Int(min(seconds.rounded(.up), 359_999))
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m\(two(whole % 60))s" }
        return "\(whole / 3600)h\(two(whole % 3600 / 60))m"
    }

    /// Bytes with one decimal in the largest binary unit that keeps the number at least 1: `512 B`,
    /// `1.5 KiB`, `700.0 MiB`, `4.2 GiB`.
    public static func formatBytes(_ bytes: UInt64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard bytes >= 1024 else { return "\(bytes) B" }
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[unit])"
    }
}

/// The recent transfer rate: bytes over the last few seconds, so a stall shows quickly and a
/// burst does not dominate.
public struct TransferRate: Sendable {
    /// How far back samples count.
    public let window: Duration
    private var samples: [(time: Duration, bytes: UInt64)] = []

    public init(window: Duration = .seconds(3)) {
        self.window = window
    }

    /// Records that `bytes` had been transferred in total at `time` (since the start).
    public mutating func add(bytes: UInt64, at time: Duration) {
        // Samples closer than a tenth of a second are merged, so the window holds few of them.
        if samples.count > 1, time - samples[samples.count - 2].time < .milliseconds(100) {
            samples[samples.count - 1] = (time, bytes)
        } else {
            samples.append((time, bytes))
        }
        while let first = samples.first, samples.count > 2, time - first.time > window {
            samples.removeFirst()
        }
    }

    /// Bytes per second across the window; nil until two samples lie apart in time.
    public var bytesPerSecond: Double? {
        guard let first = samples.first, let last = samples.last, last.time > first.time, last.bytes >= first.bytes else {
            return nil
        }
        let elapsed = last.time - first.time
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(last.bytes - first.bytes) / seconds
    }
}
