import Foundation
import HVProtocol
import HVYAML

/// Spec files on disk: YAML (or JSON, by a `.json` extension) in, canonical YAML out.
public enum SpecFile {
    /// Larger files, YAML or JSON, are refused before they are parsed; a real spec is a few KiB
    /// even with cloud-init data.
    public static let maximumSize = YAMLReader.maximumSize

    /// Reads, strictly decodes and validates a spec. `name` is the file's name, used to choose the
    /// format and in messages about the file as a whole. The result is normalized.
    public static func read(data: Data, name: String) throws(HVError) -> MachineSpec {
        guard data.count <= maximumSize else {
            throw fileError(
                name, "is \(ByteSize(bytes: UInt64(data.count)).readable); spec files may be at most 256 KiB",
                fix: "a spec describes one machine in a few KiB; keep large cloud-init files out of it"
            )
        }
        let value: JSONValue
        if name.lowercased().hasSuffix(".json") {
            value = try JSONReading.value(data, file: name)
        } else {
            guard let text = String(data: data, encoding: .utf8) else {
                throw fileError(name, "is not UTF-8 text", fix: "save the file as UTF-8")
            }
            value = try YAMLReading.value(text, file: name)
        }
        let spec = try SpecDecoder.decode(value)
        try spec.validate()
        return spec.normalized()
    }

    /// The spec as YAML in the fixed key order (name, description, tags, vcpus, memory, firmware,
    /// machine, disks, cdrom, networks, graphics, serial, tpm, autostart, cloud_init), defaults written
    /// out, absent optionals left out, and multi-line text as block scalars. Deterministic: the same
    /// spec always gives the same text.
    public static func export(_ spec: MachineSpec) -> String {
        YAMLWriting.text(spec.normalized())
    }

    /// `error`, from reading the spec file `file`, as a message that names the file once: errors
    /// about a field get the file's name in front, errors about the file as a whole already start
    /// with it.
    public static func error(_ error: HVError, in file: String) -> HVError {
        guard error.details["file"] == nil else { return error }
        var named = error
        named.reason = "\(file): \(error.reason)"
        named.details["file"] = file
        return named
    }

    static func fileError(_ file: String, _ reason: String, fix: String) -> HVError {
        HVError(.invalidSpec, "\(file): \(reason)", fix: fix, details: ["file": file])
    }
}
