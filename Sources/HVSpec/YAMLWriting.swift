import Foundation
import HVProtocol
import Yams

/// Writes a spec as YAML through Yams' node tree, never by pasting strings together.
enum YAMLWriting {
    static func text(_ spec: MachineSpec) -> String {
        let root = Node.mapping(Node.Mapping(pairs(spec)))
        do {
            return try Yams.serialize(node: root, indent: 2, width: -1, allowUnicode: true)
        } catch {
            // The emitter only fails on nodes it cannot represent; JSON is YAML too, and always works.
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            return (try? encoder.encode(spec)).map { String(decoding: $0, as: UTF8.self) + "\n" } ?? ""
        }
    }

    private static func pairs(_ spec: MachineSpec) -> [(Node, Node)] {
        var pairs: [(Node, Node)] = []
        func add(_ key: MachineSpec.CodingKeys, _ value: Node?) {
            if let value { pairs.append((word(key.rawValue), value)) }
        }
        add(.name, text(spec.name))
        add(.description, spec.description.map(text))
        add(.tags, spec.tags.isEmpty ? nil : .sequence(.init(spec.tags.map(text), .implicit, .flow)))
        add(.vcpus, word("\(spec.vcpus)"))
        add(.memory, word(spec.memory.description))
        add(.firmware, word(spec.firmware.rawValue))
        add(.machine, word(spec.machine.rawValue))
        add(.disks, spec.disks.isEmpty ? nil : .sequence(.init(spec.disks.map(disk))))
        add(.cdrom, spec.cdrom.map(text))
        add(.networks, spec.networks.isEmpty ? nil : .sequence(.init(spec.networks.map(nic))))
        add(.graphics, spec.graphics.map { graphics in
            flow([("type", word(graphics.type.rawValue)), ("listen", listen(graphics.listen))])
        })
        add(.serial, word("\(spec.serial)"))
        add(.tpm, word("\(spec.tpm)"))
        add(.autostart, spec.autostart.map { autostart in
            flow([("enabled", word("\(autostart.enabled)")), ("order", word("\(autostart.order)"))])
        })
        add(.cloudInit, spec.cloudInit.map(cloudInit))
        return pairs
    }

    private static func disk(_ disk: DiskSpec) -> Node {
        block([
            ("name", text(disk.name)),
            ("size", disk.size.map { word($0.description) }),
            ("template", disk.template.map(text)),
            ("pool", disk.pool.map(text)),
            ("bus", word(disk.bus.rawValue)),
            ("cache", word(disk.cache.rawValue)),
        ])
    }

    private static func nic(_ nic: NicSpec) -> Node {
        block([
            ("network", nic.network.map(text)),
            ("bridge", nic.bridge.map(text)),
            ("model", word(nic.model.rawValue)),
            // Always quoted: YAML 1.1 reads some unquoted addresses as base-60 numbers.
            ("mac", nic.mac.map { .scalar(.init($0, Tag(.str), .doubleQuoted)) }),
        ])
    }

    private static func cloudInit(_ cloudInit: CloudInitSpec) -> Node {
        block([
            ("user_data", text(cloudInit.userData)),
            ("meta_data", cloudInit.metaData.map(text)),
            ("network_config", cloudInit.networkConfig.map(text)),
        ])
    }

    private static func block(_ fields: [(String, Node?)]) -> Node {
        .mapping(.init(fields.compactMap { key, value in value.map { (word(key), $0) } }))
    }

    private static func flow(_ fields: [(String, Node)]) -> Node {
        .mapping(.init(fields.map { (word($0), $1) }, .implicit, .flow))
    }

    /// Keys, numbers, sizes and the fixed words of the enums: written as they are.
    private static func word(_ value: String) -> Node { .scalar(.init(value)) }

    /// `broker` as a word; a place no spec may use (recorded by an earlier version) as text, so it
    /// reads back as written and validation names it.
    private static func listen(_ listen: GraphicsListen) -> Node {
        switch listen {
        case .broker: word(listen.word)
        case .unsupported(let written): text(written)
        }
    }

    /// Free text: a literal block when it has several lines, otherwise quoted whenever YAML would
    /// read it as something other than text (`yes`, `12`, `null`).
    private static func text(_ value: String) -> Node {
        if value.contains("\n") { return .scalar(.init(value, Tag(.str), .literal)) }
        return .scalar(value.represented())
    }
}
