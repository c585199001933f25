import Foundation
import HVProtocol

/// Draws a ``MetricSeries`` as a text line chart in braille dots (2×4 dots per character), with
/// y-axis labels in the series' unit, the time range under the x-axis and a min/avg/max summary.
public struct Chart: Sendable {
    /// Columns of the plot area, not counting the y-axis labels.
    public var width: Int
    /// Rows of the plot area.
    public var height: Int

    public init(width: Int = 60, height: Int = 10) {
        self.width = max(width, 2)
        self.height = max(height, 2)
    }

    public func render(_ series: MetricSeries) -> String {
        let title = "\(series.target) \(series.metric)"
        let points = series.points.filter { $0.value.isFinite }.sorted { $0.time < $1.time }
        guard let first = points.first, let last = points.last else {
            return "\(title): no data in this range\n"
        }
        let unit = ChartUnit(metric: series.metric)
        let values = points.map(\.value)
        let low = values.min() ?? 0
        let high = values.max() ?? 0

        var grid = DotGrid(width: width, height: height)
        let dotsX = width * 2
        let dotsY = height * 4
        func position(_ point: MetricPoint) -> (x: Int, y: Int) {
            let span = last.time - first.time
            let x = span > 0 ? Int(((point.time - first.time) / span * Double(dotsX - 1)).rounded()) : 0
            let y = high > low ? Int(((point.value - low) / (high - low) * Double(dotsY - 1)).rounded()) : dotsY / 2
            return (x, dotsY - 1 - y)
        }
        var previous: (point: MetricPoint, at: (x: Int, y: Int))?
        for point in points {
            let at = position(point)
            // Connect neighbours unless the collector missed more than one point between them.
            if let previous,
                series.resolutionSeconds <= 0
                    || point.time - previous.point.time <= 2 * Double(series.resolutionSeconds)
            {
                grid.line(from: previous.at, to: at)
            } else {
                grid.set(at.x, at.y)
            }
            previous = (point, at)
        }

        var labels = Array(repeating: "", count: height)
        labels[0] = unit.format(high)
        labels[height - 1] = unit.format(low)
        if height >= 5 {
            labels[height / 2] = unit.format(low + (high - low) * Double(height - 1 - height / 2) / Double(height - 1))
        }
        let labelWidth = labels.map(\.count).max() ?? 0
        var lines = [title]
        for (row, cells) in grid.rows().enumerated() {
            let label = String(repeating: " ", count: labelWidth - labels[row].count) + labels[row]
            lines.append("\(label) \(labels[row].isEmpty ? "│" : "┤")\(cells)")
        }
        let indent = String(repeating: " ", count: labelWidth + 1)
        lines.append(indent + "└" + String(repeating: "─", count: width))
        lines.append(indent + " " + Timestamp.iso8601(first.time) + " → " + Timestamp.iso8601(last.time))
        let average = values.reduce(0, +) / Double(values.count)
        let minimum = points.map(\.min).filter(\.isFinite).min() ?? low
        let maximum = points.map(\.max).filter(\.isFinite).max() ?? high
        lines.append(indent + " min \(unit.format(minimum))  avg \(unit.format(average))  max \(unit.format(maximum))")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// How a metric's values read to people, from its name's unit suffix.
public enum ChartUnit: Sendable, Hashable {
    /// `…_ratio`: 0…1, shown as a percentage.
    case ratio
    /// `…_bytes`: shown in KiB, MiB, GiB…
    case bytes
    /// `…_bytes_per_second`.
    case bytesPerSecond
    /// Anything else, e.g. `load1`.
    case number

    public init(metric: String) {
        if metric.hasSuffix("_ratio") {
            self = .ratio
        } else if metric.hasSuffix("_bytes_per_second") {
            self = .bytesPerSecond
        } else if metric.hasSuffix("_bytes") {
            self = .bytes
        } else {
            self = .number
        }
    }

    public func format(_ value: Double) -> String {
        switch self {
        case .ratio: String(format: "%.1f%%", value * 100)
        case .bytes: Self.binary(value)
        case .bytesPerSecond: Self.binary(value) + "/s"
        case .number: String(format: "%.2f", value)
        }
    }

    static func binary(_ value: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var scaled = value
        var index = 0
        while abs(scaled) >= 1024, index < units.count - 1 {
            scaled /= 1024
            index += 1
        }
        return index == 0 ? String(format: "%.0f B", scaled) : String(format: "%.1f", scaled) + " " + units[index]
    }
}

/// A plot area of braille characters, addressed by dot.
struct DotGrid {
    let width: Int
    let height: Int
    private var cells: [UInt8]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        cells = Array(repeating: 0, count: width * height)
    }

    /// Turns on the dot at column `x` (0 at the left) and row `y` (0 at the top).
    mutating func set(_ x: Int, _ y: Int) {
        guard x >= 0, y >= 0, x < width * 2, y < height * 4 else { return }
        // Unicode braille: dots 1-2-3-7 in the left column, 4-5-6-8 in the right, top to bottom.
        let bits: [[UInt8]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]
        cells[(y / 4) * width + x / 2] |= bits[x % 2][y % 4]
    }

    /// Draws a straight line of dots (Bresenham).
    mutating func line(from start: (x: Int, y: Int), to end: (x: Int, y: Int)) {
        var (x, y) = start
        let dx = abs(end.x - x)
        let dy = -abs(end.y - y)
        let stepX = x < end.x ? 1 : -1
        let stepY = y < end.y ? 1 : -1
        var error = dx + dy
        while true {
            set(x, y)
            if x == end.x && y == end.y { break }
            let doubled = 2 * error
            if doubled >= dy {
                error += dy
                x += stepX
            }
            if doubled <= dx {
                error += dx
                y += stepY
            }
        }
    }

    /// The rows top to bottom; cells without dots are spaces.
    func rows() -> [String] {
        (0..<height).map { row in
            String(
                String.UnicodeScalarView(
                    cells[(row * width)..<((row + 1) * width)].map { bits in
                        bits == 0 ? " " : Unicode.Scalar(0x2800 + UInt32(bits)) ?? " "
                    }
                )
            )
        }
    }
}

enum Timestamp {
    /// `2024-05-01T12:00:00Z` for seconds since 1970.
    static func iso8601(_ time: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: time))
    }
}

/// Exports history series for spreadsheets and scripts.
public enum SeriesExport {
    /// One row per point: `target,metric,time_iso8601,value,min,max`, with a header row.
    public static func csv(_ series: [MetricSeries]) -> String {
        var lines = ["target,metric,time_iso8601,value,min,max"]
        for one in series {
            for point in one.points {
                lines.append(
                    [
                        field(one.target), field(one.metric), Timestamp.iso8601(point.time), "\(point.value)",
                        "\(point.min)", "\(point.max)",
                    ]
                    .joined(separator: ",")
                )
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The series as a JSON array of ``MetricSeries`` objects, keys sorted.
    public static func json(_ series: [MetricSeries]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(series), as: UTF8.self)
    }

    /// Quotes a CSV field when it holds a comma, a quote or a line break (RFC 4180).
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
