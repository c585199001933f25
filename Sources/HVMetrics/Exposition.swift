import HVProtocol

/// Renders metric samples in the Prometheus text format (version 0.0.4).
public enum Exposition {
    /// The `Content-Type` of the rendered text.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Renders the samples straight into text, family by family in the order each name first
    /// appears, so a series missing from `samples` (a deleted VM) is missing from the output too.
    ///
    /// Samples the format cannot carry are skipped rather than rendered wrongly: a second sample with
    /// the same name and labels, a sample whose label names differ from the first of its name (a
    /// family is either labelled one way or not), a non-finite value, and a negative counter.
    /// Values are written as Prometheus' Swift client writes them: a counter at zero as `0`, every
    /// other value in Swift's shortest exact form (`1.0`, `0.25`).
    public static func render(_ samples: [MetricSample]) -> [UInt8] {
        var families: [Family] = []
        var familyIndex: [String: Int] = [:]
        for sample in samples {
            let known = familyIndex[sample.name]
            let description = known.map { families[$0].description } ?? MetricCatalog.description(of: sample.name)
            guard sample.value.isFinite, description.kind == .gauge || sample.value >= 0 else { continue }
            if let known {
                families[known].add(sample)
            } else {
                familyIndex[sample.name] = families.count
                var family = Family(description, labelNames: sample.labels.keys.sorted())
                family.add(sample)
                families.append(family)
            }
        }

        var buffer: [UInt8] = []
        buffer.reserveCapacity(samples.count * 64)
        for family in families {
            family.render(into: &buffer)
        }
        return buffer
    }

    /// The samples of one metric name, with what the catalog says about it. Each sample is kept as
    /// its label values in the order of the sorted label names, which is also what tells two
    /// samples of the same series apart.
    struct Family {
        var description: MetricDescription
        /// The first sample's label names, sorted: every other sample of the name must have these.
        let labelNames: [String]
        var samples: [(labelValues: [String], value: Double)] = []
        var seen: Set<[String]> = []

        init(_ description: MetricDescription, labelNames: [String]) {
            self.description = description
            self.labelNames = labelNames
        }

        /// Adds `sample` unless its label names differ from the family's or its series is already in.
        mutating func add(_ sample: MetricSample) {
            guard sample.labels.count == labelNames.count else { return }
            var values: [String] = []
            values.reserveCapacity(labelNames.count)
            for name in labelNames {
                guard let value = sample.labels[name] else { return }
                values.append(value)
            }
            guard seen.insert(values).inserted else { return }
            samples.append((values, sample.value))
        }

        func render(into buffer: inout [UInt8]) {
            let name = description.name
            let counter = description.kind == .counter
            if !description.help.isEmpty {
                buffer.append(contentsOf: "# HELP \(name) ".utf8)
                for byte in description.help.utf8 {
                    if byte == UInt8(ascii: "\\") { buffer.append(UInt8(ascii: "\\")) }
                    buffer.append(byte)
                }
                buffer.append(UInt8(ascii: "\n"))
            }
            buffer.append(contentsOf: "# TYPE \(name) \(counter ? "counter" : "gauge")\n".utf8)
            for sample in samples {
                buffer.append(contentsOf: name.utf8)
                if !labelNames.isEmpty {
                    buffer.append(UInt8(ascii: "{"))
                    for (position, label) in labelNames.enumerated() {
                        if position > 0 { buffer.append(UInt8(ascii: ",")) }
                        buffer.append(contentsOf: label.utf8)
                        buffer.append(contentsOf: "=\"".utf8)
                        Self.appendEscaped(sample.labelValues[position], to: &buffer)
                        buffer.append(UInt8(ascii: "\""))
                    }
                    buffer.append(UInt8(ascii: "}"))
                }
                buffer.append(UInt8(ascii: " "))
                let value = counter && sample.value == 0 ? "0" : sample.value.description
                buffer.append(contentsOf: value.utf8)
                buffer.append(UInt8(ascii: "\n"))
            }
        }

        /// A label value with backslash, double quote and line feed escaped.
        static func appendEscaped(_ value: String, to buffer: inout [UInt8]) {
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): buffer.append(contentsOf: #"\\"#.utf8)
                case UInt8(ascii: "\""): buffer.append(contentsOf: #"\""#.utf8)
                case UInt8(ascii: "\n"): buffer.append(contentsOf: #"\n"#.utf8)
                default: buffer.append(byte)
                }
            }
        }
    }
}
