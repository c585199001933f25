import Foundation
import HVProtocol
import HVSpec

/// The complete example from the spec format's description.
let exampleYAML = """
    name: web1
    description: "Web server for the lab"
    tags: [web, lab]
    vcpus: 2
    memory: 2GiB
    firmware: bios            # bios | uefi | uefi-secure
    machine: q35              # q35 | pc
    disks:
      - name: root            # volume becomes web1-root.qcow2 in the pool
        size: 20GiB
        bus: virtio           # virtio | sata | scsi
        cache: none           # none | writeback | writethrough | directsync | unsafe
      - name: data
        template: debian-12   # copy-on-write overlay of the template volume debian-12
        pool: hypervisor-images   # optional; must be allowed by host policy
    cdrom: debian-12.iso      # from the ISO library, by name
    networks:
      - network: default      # a managed libvirt network …
        model: virtio         # virtio | e1000e | rtl8139
        mac: "52:54:00:12:34:56"   # optional
      - bridge: br0           # … or a bridge from the admin's allow-list
    graphics: {type: vnc}     # vnc | spice; reached only through the broker
    serial: true
    autostart: {enabled: true, order: 10}
    cloud_init:
      user_data: |
        #cloud-config
        hostname: web1
      meta_data: |
        instance-id: web1

    """

/// A small valid spec to vary in tests.
let baseSpec = MachineSpec(
    name: "web1", vcpus: 2, memory: .gibibytes(2),
    disks: [DiskSpec(name: "root", size: .gibibytes(20)), DiskSpec(name: "data", template: "debian-12")],
    networks: [NicSpec(network: "default", mac: "52:54:00:12:34:56"), NicSpec(bridge: "br0")]
)

func read(_ text: String, name: String = "web1.yaml") throws(HVError) -> MachineSpec {
    try SpecFile.read(data: Data(text.utf8), name: name)
}

/// The error reading `text` gives, or nil when it is accepted.
func readError(_ text: String, name: String = "web1.yaml") -> HVError? {
    do {
        _ = try read(text, name: name)
        return nil
    } catch {
        return error
    }
}

/// The error `validate()` gives, or nil when the spec is valid.
func validationError(_ spec: MachineSpec) -> HVError? {
    do {
        try spec.validate()
        return nil
    } catch {
        return error
    }
}

/// A minimal spec file with `extra` appended at top level.
func minimal(_ extra: String = "") -> String {
    "name: web1\nvcpus: 2\nmemory: 2GiB\ndisks:\n  - name: root\n    size: 20GiB\n" + extra
}
