import Foundation
import HVPresentation
import HVProtocol
import Testing

@Suite struct ChartTests {
    func series(_ metric: String, _ values: [Double], step: Double = 60, resolution: Int = 60) -> MetricSeries {
        MetricSeries(
            target: "host", metric: metric, resolutionSeconds: resolution,
            points: values.enumerated().map { index, value in
                MetricPoint(time: 1_700_000_000 + Double(index) * step, value: value, min: value, max: value)
            }
        )
    }

    @Test func risingSeriesEndsTopRight() {
        let output = Chart(width: 4, height: 2).render(series("cpu_usage_ratio", [0, 0.5, 1]))
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(
            lines == [
                "host cpu_usage_ratio",
                "100.0% ┤  ⡠⠊",
                "  0.0% ┤⡠⠊  ",
                "       └────",
                "        2023-11-14T22:13:20Z → 2023-11-14T22:15:20Z",
                "        min 0.0%  avg 50.0%  max 100.0%",
                "",
            ]
        )
    }

    @Test func highestMarkIsInTheTopRowRightmostCell() {
        let output = Chart(width: 10, height: 4).render(series("load1", [1, 2, 3, 4, 5, 6, 7, 8]))
        let rows = output.split(separator: "\n").dropFirst().prefix(4).map {
            String($0.split(separator: "┤", maxSplits: 1).last ?? "")
        }
        #expect(rows.count == 4)
        // The top row's last cell holds the highest point; its top-right dot (bit 0x08) is set.
        let topRight = rows[0].unicodeScalars.last.map { $0.value - 0x2800 } ?? 0
        #expect(topRight & 0x08 != 0)
        // The bottom row's first cell holds the lowest point (bottom-left dot, bit 0x40).
        let bottomLeft = rows[3].unicodeScalars.first.map { $0.value - 0x2800 } ?? 0
        #expect(bottomLeft & 0x40 != 0)
        #expect(output.contains("8.00 ┤"))
        #expect(output.contains("1.00 ┤"))
    }

    @Test func emptySeriesSaysSo() {
        #expect(Chart().render(series("load1", [])) == "host load1: no data in this range\n")
    }

    @Test func gapsAreNotBridged() {
        // Points 0 and 1 are one step apart, point 2 comes ten steps later: no line across the gap.
        var data = series("load1", [0, 0, 0])
        data.points[2].time += 600
        let output = Chart(width: 12, height: 2).render(data)
        let row = output.split(separator: "\n")[1]
        #expect(row.contains("  "), "\(row)")
    }

    @Test func unitsFollowTheMetricName() {
        #expect(ChartUnit(metric: "memory_used_ratio").format(0.256) == "25.6%")
        #expect(ChartUnit(metric: "memory_used_bytes").format(512) == "512 B")
        #expect(ChartUnit(metric: "memory_used_bytes").format(1536) == "1.5 KiB")
        #expect(ChartUnit(metric: "memory_rss_bytes").format(3 * 1024 * 1024 * 1024) == "3.0 GiB")
        #expect(ChartUnit(metric: "disk_read_bytes_per_second").format(2 * 1024 * 1024) == "2.0 MiB/s")
        #expect(ChartUnit(metric: "load1").format(0.5) == "0.50")
    }

    @Test func csvHasOneRowPerPoint() {
        var data = series("load1", [0.5, 1.25])
        data.points[1].min = 1
        data.points[1].max = 2
        let other = MetricSeries(
            target: "web,1", metric: "up", resolutionSeconds: 60,
            points: [
                MetricPoint(time: 1_700_000_000, value: 1, min: 1, max: 1)
            ])
        #expect(
            SeriesExport.csv([data, other]) == """
                target,metric,time_iso8601,value,min,max
                host,load1,2023-11-14T22:13:20Z,0.5,0.5,0.5
                host,load1,2023-11-14T22:14:20Z,1.25,1.0,2.0
                "web,1",up,2023-11-14T22:13:20Z,1.0,1.0,1.0

                """
        )
    }

    @Test func jsonRoundTrips() throws {
        let data = [series("load1", [0.5, 1.25])]
        let text = try SeriesExport.json(data)
        #expect(try JSONDecoder().decode([MetricSeries].self, from: Data(text.utf8)) == data)
        #expect(text.contains("\"resolutionSeconds\" : 60"))
    }
}
