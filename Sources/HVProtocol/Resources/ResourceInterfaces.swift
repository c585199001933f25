/// The Varlink definitions of the storage, network, ISO, snapshot and event interfaces.
extension Interfaces {
    public static let snapshot = "org.hypernixos.Snapshot"
    public static let storage = "org.hypernixos.Storage"
    public static let network = "org.hypernixos.Network"
    public static let iso = "org.hypernixos.Iso"
    public static let image = "org.hypernixos.Image"
    public static let events = "org.hypernixos.Events"

    static let resourceErrors = """

        error NotFound (name: string, reason: string, fix: string)

        error AlreadyExists (name: string, reason: string, fix: string)

        # The object is not in a state that allows the operation.
        error InvalidState (name: string, state: string, reason: string, fix: string)

        # The host policy's limits or quotas refuse the request; limit names the setting.
        error QuotaExceeded (limit: string, field: string, reason: string, fix: string)
        """

    static let snapshotDescription = """
        # Snapshots of a machine's disks and state, as a tree.
        interface org.hypernixos.Snapshot

        # created is seconds since 1970; parent is absent for a root snapshot.
        type Snapshot (
          name: string,
          description: ?string,
          created: int,
          state: string,
          parent: ?string,
          current: bool
        )

        # polkit action: org.hypernixos.snapshot.list
        method List(vm: string) -> (snapshots: []Snapshot)

        # polkit action: org.hypernixos.snapshot.create
        method Create(vm: string, name: string, description: ?string) -> (snapshot: Snapshot)

        # Returns the machine to the snapshot's disks and state. polkit action: org.hypernixos.snapshot.revert
        method Revert(vm: string, name: string) -> ()

        # Deletes one snapshot; its children move to its parent. polkit action: org.hypernixos.snapshot.delete
        method Delete(vm: string, name: string) -> ()
        """ + resourceErrors + commonErrors

    static let storageDescription = """
        # Storage pools and their volumes. Sizes are strings such as "20GiB"; host paths never appear.
        interface org.hypernixos.Storage

        type Pool (
          name: string,
          active: bool,
          autostart: bool,
          capacity: string,
          allocation: string,
          available: string,
          allowed: bool
        )

        type Volume (
          pool: string,
          name: string,
          format: string,
          capacity: string,
          allocation: string,
          template: bool,
          backingTemplate: ?string
        )

        # polkit action: org.hypernixos.pool.list
        method ListPools() -> (pools: []Pool)

        # pool defaults to the broker's own pool. polkit action: org.hypernixos.pool.list
        method ListVolumes(pool: ?string) -> (volumes: []Volume)

        # A new, empty qcow2 volume. polkit action: org.hypernixos.volume.create
        method CreateVolume(pool: ?string, name: string, size: string) -> (volume: Volume)

        # Grows a volume; shrinking is refused. polkit action: org.hypernixos.volume.resize
        method ResizeVolume(pool: ?string, name: string, size: string) -> (volume: Volume)

        # Deletes a volume no machine uses. polkit action: org.hypernixos.volume.delete
        method DeleteVolume(pool: ?string, name: string) -> ()

        # Makes a volume a read-only template that disks and clones can be overlays of.
        # polkit action: org.hypernixos.volume.template
        method MarkTemplate(pool: ?string, name: string) -> (volume: Volume)
        """ + resourceErrors + commonErrors

    static let networkDescription = """
        # libvirt virtual networks.
        interface org.hypernixos.Network

        type Network (
          name: string,
          active: bool,
          autostart: bool,
          bridge: ?string,
          forward: ?string,
          address: ?string,
          dhcpStart: ?string,
          dhcpEnd: ?string
        )

        # polkit action: org.hypernixos.network.list
        method List() -> (networks: []Network)

        # Defines and starts a NAT network; address is the host's side, e.g. 192.168.100.1/24.
        # polkit action: org.hypernixos.network.create
        method Create(name: string, address: string, dhcpStart: ?string, dhcpEnd: ?string, autostart: ?bool) -> (network: Network)

        # polkit action: org.hypernixos.network.start
        method Start(name: string) -> ()

        # polkit action: org.hypernixos.network.stop
        method Stop(name: string) -> ()

        # polkit action: org.hypernixos.network.autostart
        method SetAutostart(name: string, enabled: bool) -> ()

        # Stops and undefines a network no machine uses. polkit action: org.hypernixos.network.delete
        method Delete(name: string) -> ()
        """ + resourceErrors + commonErrors

    static let isoDescription = """
        # The ISO library: installer and live images, checked by SHA-256 before they are kept.
        interface org.hypernixos.Iso

        # size is the image's length, allocated what it occupies on disk (less when it has holes);
        # group is the group it is charged to, absent for an image placed in the library by hand.
        type Iso (
          name: string,
          size: string,
          allocated: string,
          sha256: string,
          added: int,
          addedBy: int,
          group: ?string,
          source: ?string,
          signatureVerified: bool
        )

        # What the library's images occupy on disk against iso.max_total, and the caller's group's
        # against groups.NAME.images; a limit is absent when there is none.
        type ImageUsage (
          library: string,
          libraryLimit: ?string,
          group: string,
          groupImages: string,
          groupLimit: ?string
        )

        # polkit action: org.hypernixos.iso.list
        method List() -> (isos: []Iso, usage: ?ImageUsage)

        # Called on the upload socket (/run/hypervisor/upload.sock) with the image's open, readable
        # descriptor attached (SCM_RIGHTS). The broker copies it, keeping its holes, and checks size,
        # SHA-256 and, when given, the detached signature (base64) with gpgv; a mismatch keeps
        # nothing. What it occupies counts toward iso.max_total and the caller's group's images
        # (QuotaExceeded names the limit), checked before the copy and again before it is kept.
        # polkit action: org.hypernixos.iso.add
        method Add(name: string, sha256: string, source: ?string, signature: ?string) -> (iso: Iso)

        # How far a long job got: bytes done, of total when known.
        type Progress (done: int, total: ?int)

        # Recomputes the SHA-256 and compares it with the one recorded at Add. Called with
        # "more": true, the replies before the last carry only progress (a few a second); the last
        # carries the result. The hashing stops when the caller disconnects.
        # polkit action: org.hypernixos.iso.verify
        method Verify(name: string) -> (name: ?string, intact: ?bool, expected: ?string, actual: ?string, progress: ?Progress)

        # polkit action: org.hypernixos.iso.remove
        method Remove(name: string) -> ()
        """ + resourceErrors + commonErrors

    static let imageDescription = """
        # Cloud images as templates: qcow2 or raw disk images brought into the broker's pool.
        interface org.hypernixos.Image

        # sourceFormat is the format handed over (raw images are stored as qcow2); allocated is what
        # the template occupies on disk, charged to group.
        type Image (
          name: string,
          pool: string,
          sourceFormat: string,
          virtualSize: string,
          allocated: string,
          sha256: string,
          group: string,
          source: ?string
        )

        # Called on the upload socket (/run/hypervisor/upload.sock) with the image's open, readable
        # descriptor attached (SCM_RIGHTS). The broker copies it into its pool, keeping its holes,
        # checks the SHA-256 of what it stored, then probes it with qemu-img under prlimit with the
        # format stated (format, or the image's first bytes when absent): a backing file, an external
        # data file, another format than declared or a virtual size over limits.disk is refused, and
        # nothing is kept. The template is charged to group (default: the caller's), which the caller
        # must be in; what it occupies counts toward groups.NAME.images (QuotaExceeded names the
        # limit), checked before the copy and again before it is kept. A spec names it with
        # 'template: NAME'; list and delete it with Storage.ListVolumes and Storage.DeleteVolume.
        # polkit action: org.hypernixos.image.import
        method Import(name: string, sha256: string, format: ?string, group: ?string, source: ?string) -> (image: Image)
        """ + resourceErrors + commonErrors

    static let eventsDescription = """
        # Machine lifecycle events as they happen.
        interface org.hypernixos.Events

        type Event (time: string, vm: string, event: string, detail: string)

        # Call with "more": the first reply says subscribed, each further reply carries one event,
        # until the caller hangs up. polkit action: org.hypernixos.events.follow
        method Follow() -> (subscribed: ?bool, event: ?Event)
        """ + commonErrors
}
