import HVProtocol
import Prometheus

/// Renders metric samples in the Prometheus text format (version 0.0.4).
public enum Exposition {
    /// The `Content-Type` of the rendered text.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Renders the samples through a fresh registry, so a series missing from `samples` (a deleted
    /// VM) is missing from the output too.
    ///
    /// Samples the format cannot carry are skipped rather than rendered wrongly: a second sample with
    /// the same name and labels, a sample whose label names differ from the first of its name (a
    /// family is either labelled one way or not), a non-finite value, and a negative counter.
    public static func render(_ samples: [MetricSample]) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        var labelNames: [String: Set<String>] = [:]
        var seen: Set<MetricSample.Identity> = []
        for sample in samples {
            let description = MetricCatalog.description(of: sample.name)
            guard sample.value.isFinite, description.kind == .gauge || sample.value >= 0 else { continue }
            let names = Set(sample.labels.keys)
            if let expected = labelNames[sample.name], expected != names { continue }
            labelNames[sample.name] = names
            guard seen.insert(MetricSample.Identity(name: sample.name, labels: sample.labels)).inserted else {
                continue
            }
            let labels = sample.labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            switch description.kind {
            case .counter:
                let counter = registry.makeCounter(name: sample.name, labels: labels, help: description.help)
                counter.increment(by: sample.value)
            case .gauge:
                registry.makeGauge(name: sample.name, labels: labels, help: description.help).set(to: sample.value)
            }
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

extension MetricSample {
    struct Identity: Hashable {
        var name: String
        var labels: [String: String]
    }
}
