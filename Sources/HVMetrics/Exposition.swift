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
        var seen: Set<MetricSample.Identity> = []
        for sample in samples {
            let known = familyIndex[sample.name]
            let description = known.map { families[$0].description } ?? MetricCatalog.description(of: sample.name)
            guard sample.value.isFinite, description.kind == .gauge || sample.value >= 0 else { continue }
            let index: Int
            if let known {
                index = known
                let names = families[index].labelNames
                guard sample.labels.count == names.count, sample.labels.keys.allSatisfy(names.contains) else { continue }
            } else {
                index = families.count
                familyIndex[sample.name] = index
                families.append(Family(description, labelNames: Set(sample.labels.keys)))
            }
            guard seen.insert(MetricSample.Identity(name: sample.name, labels: sample.labels)).inserted else { continue }
            families[index].samples.append(sample)
        }

        var buffer: [UInt8] = []
        buffer.reserveCapacity(samples.count * 64)
        for family in families {
            family.render(into: &buffer)
        }
        return buffer
    }

    /// The samples of one metric name, with what the catalog says about it.
    struct Family {
        var description: MetricDescription
        var labelNames: Set<String>
        var samples: [MetricSample] = []

        init(_ description: MetricDescription, labelNames: Set<String>) {
            self.description = description
            self.labelNames = labelNames
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
            let order = labelNames.sorted()
            for sample in samples {
                buffer.append(contentsOf: name.utf8)
                if !order.isEmpty {
                    buffer.append(UInt8(ascii: "{"))
                    for (position, label) in order.enumerated() {
                        if position > 0 { buffer.append(UInt8(ascii: ",")) }
                        buffer.append(contentsOf: label.utf8)
                        buffer.append(contentsOf: "=\"".utf8)
                        Self.appendEscaped(sample.labels[label] ?? "", to: &buffer)
                        buffer.append(UInt8(ascii: "\""))
                    }
                    buffer.append(UInt8(ascii: "}"))
                }
                buffer.append(UInt8(ascii: " "))
                let value = counter && sample.value == 0 ? "0" : "\(sample.value)"
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

extension MetricSample {
    struct Identity: Hashable {
        var name: String
        var labels: [String: String]
    }
}
