/// The Varlink interface definitions the broker publishes through `GetInterfaceDescription`.
///
/// These texts are the contract: any Varlink client can read them and call the broker.
public enum Interfaces {
    public static let service = "org.varlink.service"
    public static let host = "org.hypernixos.Host"
    public static let vm = "org.hypernixos.Vm"
    public static let audit = "org.hypernixos.Audit"

    /// Our interfaces, in the order GetInfo lists them.
    public static let all = [service, host, vm, snapshot, storage, network, iso, image, backup, events, audit]

    public static func description(of interface: String) -> String? {
        switch interface {
        case service: serviceDescription
        case host: hostDescription
        case vm: vmDescription
        case audit: auditDescription
        case snapshot: snapshotDescription
        case storage: storageDescription
        case network: networkDescription
        case iso: isoDescription
        case image: imageDescription
        case backup: backupDescription
        case events: eventsDescription
        default: nil
        }
    }

    /// Errors every method of ours may return.
    static let commonErrors = """

        # polkit did not authorize the caller for the action this method maps to.
        error PermissionDenied (action: string, reason: string, fix: string)

        # polkit could not be asked; the broker refuses rather than guess.
        error AuthorizationUnavailable (reason: string, fix: string)

        # libvirt is not reachable; the broker keeps trying to reconnect.
        error HypervisorUnavailable (reason: string, fix: string)

        # The audit record of a change could not be written, so nothing was changed.
        error AuditUnavailable (reason: string, fix: string)

        # The caller already has as many calls waiting for one kind of the broker's work
        # (pool: polkit, libvirt or jobs), or as many console sessions open (pool: consoles), as it
        # may (limit); nothing was done.
        error Busy (pool: string, limit: string, reason: string, fix: string)

        # The operation was authorized and valid but did not succeed.
        error Failed (reason: string, fix: ?string)
        """

    static let serviceDescription = """
        # The Varlink service interface.
        interface org.varlink.service

        # Get a list of all the interfaces a service provides and information
        # about the implementation.
        method GetInfo() -> (
          vendor: string,
          product: string,
          version: string,
          url: string,
          interfaces: []string
        )

        # Get the description of an interface that is implemented by this service.
        method GetInterfaceDescription(interface: string) -> (description: string)

        # The requested interface was not found.
        error InterfaceNotFound (interface: string)

        # The requested method was not found
        error MethodNotFound (method: string)

        # The interface defines the requested method, but the service does not
        # implement it.
        error MethodNotImplemented (method: string)

        # One of the passed parameters is invalid.
        error InvalidParameter (parameter: string)

        # Client is denied access
        error PermissionDenied ()

        # Method is expected to be called with 'more' set to true, but wasn't
        error ExpectedMore ()
        """

    static let hostDescription = """
        # The hypervisor host: identity, versions, whether hardware virtualization is usable,
        # statistics and health.
        interface org.hypernixos.Host

        # Whether KVM can run a guest here, tested by running one instruction, not by seeing /dev/kvm.
        type Kvm (usable: bool, reason: string)

        type HostInfo (
          hostname: string,
          libvirtVersion: string,
          hypervisorVersion: string,
          hypervisorUri: string,
          cpuModel: string,
          cpus: int,
          memoryMiB: int,
          kvm: Kvm,
          domainType: string
        )

        # Host facts. polkit action: org.hypernixos.host.info
        method GetInfo() -> (host: HostInfo)

        # A virtual disk; byte and request counters are cumulative and absent while the machine is stopped.
        type DiskStats (
          target: string,
          capacityBytes: ?int,
          allocationBytes: ?int,
          readBytes: ?int,
          writtenBytes: ?int,
          readRequests: ?int,
          writeRequests: ?int
        )

        # A virtual network interface, by its host-side device name; counters are cumulative.
        type InterfaceStats (
          name: string,
          receivedBytes: int,
          transmittedBytes: int,
          receivedPackets: int,
          transmittedPackets: int,
          receiveErrors: int,
          transmitErrors: int,
          receiveDrops: int,
          transmitDrops: int
        )

        # One machine. state and stateReason are libvirt's names (running/booted, shutoff/destroyed, ...).
        # Live counters are absent while the machine is stopped or busy in a job.
        type DomainStats (
          name: string,
          uuid: string,
          state: string,
          stateReason: string,
          autostart: bool,
          vcpus: int,
          cpuTimeNs: ?int,
          memoryMaxKiB: int,
          memoryCurrentKiB: ?int,
          memoryRssKiB: ?int,
          memoryUsableKiB: ?int,
          disks: []DiskStats,
          interfaces: []InterfaceStats
        )

        type PoolStats (name: string, active: bool, capacityBytes: int, allocationBytes: int, availableBytes: int)

        type NetworkStatus (name: string, active: bool, autostart: bool, bridge: ?string)

        # Every machine's statistics from one bulk libvirt call that never waits for a machine busy
        # in a job, plus storage pools and networks. polkit action: org.hypernixos.host.stats
        method Stats() -> (domains: []DomainStats, pools: []PoolStats, networks: []NetworkStatus)

        # One check: what was measured, what it means, and how to fix it when it is not ok.
        type HealthCheck (
          id: string,
          title: string,
          status: (ok, warning, critical, unknown),
          value: string,
          explanation: string,
          fix: ?string
        )

        # The checks only the broker can run: libvirtd, KVM, polkit, storage pools, networks,
        # autostart machines and the audit chain. Answers even while libvirtd is down.
        # polkit action: org.hypernixos.host.health
        method Health() -> (checks: []HealthCheck)

        # One machine the boot-time start handled: result is started, running (it already was) or
        # failed (with the reason).
        type AutostartResult (name: string, order: int, result: string, reason: ?string)

        # Starts the machines whose spec enables autostart, lowest order first, then by name; each
        # order group starts after the one before it, and groupDelaySeconds (0-600) after it. Run once
        # at boot by hypernixos-autostart.service. polkit action: org.hypernixos.host.autostart
        method Autostart(groupDelaySeconds: ?int) -> (machines: []AutostartResult)
        """ + commonErrors

    static let vmDescription = """
        # Virtual machines: list, inspect, create from a validated spec, and lifecycle.
        interface org.hypernixos.Vm

        # managed is false for a domain the broker did not make; only administrators see those.
        type Summary (name: string, state: string, uuid: string, tags: []string, template: bool, managed: bool)

        type Disk (target: string, device: string, source: ?string)

        type Details (
          name: string,
          uuid: string,
          state: string,
          vcpus: int,
          memoryMiB: int,
          cpuTimeNs: int,
          domainType: string,
          autostart: bool,
          disks: []Disk,
          autostartOrder: ?int,
          hostFeatures: ?HostFeatures,
          tpm: ?bool
        )

        # name matches ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$; vcpus 1-64; memoryMiB 64-1048576;
        # diskGiB 1-16384; iso is the file name of an image in the broker's ISO directory.
        type Spec (name: string, vcpus: int, memoryMiB: int, diskGiB: int, iso: ?string)

        # polkit action: org.hypernixos.vm.list
        method List() -> (vms: []Summary)

        # polkit action: org.hypernixos.vm.info
        method Info(name: string) -> (vm: Details)

        # Defines a machine with one new qcow2 disk and a serial console. polkit action: org.hypernixos.vm.create
        method Create(spec: Spec) -> (vm: Details)

        # polkit action: org.hypernixos.vm.start
        method Start(name: string) -> ()

        # Asks the guest to power off (ACPI). polkit action: org.hypernixos.vm.shutdown
        method Shutdown(name: string) -> ()

        # polkit action: org.hypernixos.vm.reboot
        method Reboot(name: string) -> ()

        # Stops the machine at once, like pulling the plug. polkit action: org.hypernixos.vm.kill
        method Kill(name: string) -> ()

        # Undefines a stopped machine. polkit action: org.hypernixos.vm.delete, or
        # org.hypernixos.vm.delete-disks when removeDisks is true.
        method Delete(name: string, removeDisks: ?bool) -> (removedDisks: []string)

        # The end of the serial console log. polkit action: org.hypernixos.vm.console
        method ReadConsole(name: string, maxBytes: ?int) -> (text: string, truncated: bool)

        # Only on the upload socket, with no descriptor attached: attaches to the serial console.
        # The reply carries one end of a socket pair (SCM_RIGHTS) whose bytes are the console's, both
        # ways; closing it detaches. A console another session holds is InvalidState (state
        # "console in use") unless force ends that session. polkit action: org.hypernixos.vm.console-attach
        method OpenConsole(name: string, force: ?bool) -> (name: string, tookOver: bool)

        # Only on the upload socket, with no descriptor attached: the reply carries a new connection
        # (SCM_RIGHTS) to the machine's display server, which listens on no address of its own; type
        # is its protocol, vnc or spice. polkit action: org.hypernixos.vm.graphics
        method OpenGraphics(name: string) -> (name: string, type: string)

        # The running machine's screen as a PNG file, base64-encoded. polkit action: org.hypernixos.vm.screenshot
        method Screenshot(name: string) -> (png: string, width: int, height: int)

        # A change apply made or would make; effect is immediate, nextBoot (the running machine keeps
        # its configuration until it restarts) or refused (with the reason).
        type Change (field: string, from: ?string, to: ?string, effect: string, reason: ?string)

        # Creates the machine a spec describes, or updates it to match. A running machine is never
        # destroyed; changes that need a restart are listed. spec is the structure of a spec file
        # (docs/SPEC.md). With dryRun nothing changes. polkit action: org.hypernixos.vm.apply
        method Apply(spec: object, dryRun: ?bool) -> (created: bool, changes: []Change, restartNeeded: bool, vm: ?Details)

        # The machine's spec, as apply took it, with what libvirt assigned (MAC addresses). The
        # cloud-init data is replaced by "<redacted>" for callers who may not change the machine.
        # polkit action: org.hypernixos.vm.export
        method Export(name: string) -> (spec: object)

        # A new machine from source: full copies of its disks, or with linked, copy-on-write overlays
        # of a template's disks. polkit action: org.hypernixos.vm.clone
        method Clone(source: string, name: string, linked: ?bool) -> (vm: Details)

        # Turns a stopped machine into a template: its disks become read-only bases for linked clones.
        # polkit action: org.hypernixos.vm.template
        method MakeTemplate(name: string) -> ()

        # Whether 'hv host autostart' starts the machine at boot, and in which order group (0-999,
        # lowest first; unchanged when not given): the spec's autostart, kept in its record.
        # polkit action: org.hypernixos.vm.autostart
        method SetAutostart(name: string, enabled: bool, order: ?int) -> (autostart: bool, order: int)

        type Lease (network: string, mac: string, address: string, prefix: int, hostname: ?string, expires: int)

        # The DHCP leases libvirt's networks gave the machine's interfaces. polkit action: org.hypernixos.vm.leases
        method Leases(name: string) -> (leases: []Lease)

        # A vCPU pinned to host CPUs, written as a CPU list such as 2, 2-3 or 0,4-5.
        type CpuPin (vcpu: int, cpus: string)

        # What a machine takes from the host; set by administrators only, kept across apply, and
        # taking effect when the machine next starts. pciDevices are full PCI addresses
        # (0000:01:00.0), usbDevices vendor:product ids (046d:c52b).
        type HostFeatures (hugepages: bool, cpuPins: []CpuPin, pciDevices: []string, usbDevices: []string)

        # Backs the machine's memory with the host's reserved hugepages, which must cover it.
        # polkit action: org.hypernixos.vm.hugepages
        method SetHugepages(name: string, enabled: bool) -> (hostFeatures: HostFeatures, restartNeeded: bool)

        # Replaces the machine's vCPU pins; an empty list removes them. Each CPU must be online.
        # polkit action: org.hypernixos.vm.cpu-pinning
        method PinCpus(name: string, pins: []CpuPin) -> (hostFeatures: HostFeatures, restartNeeded: bool)

        # Replaces the host devices passed to the machine; empty lists pass none. A PCI device must
        # exist and sit in an IOMMU group, a USB device must be plugged in, and no other machine may
        # have it. polkit action: org.hypernixos.vm.passthrough
        method SetPassthrough(name: string, pci: []string, usb: []string) -> (hostFeatures: HostFeatures, restartNeeded: bool)

        # Takes over a domain the broker did not make: it is read as a spec would describe it (what a
        # spec can't express is refused, naming it), charged to group, and managed from then on.
        # polkit action: org.hypernixos.vm.adopt
        method Adopt(name: string, group: ?string) -> (vm: Details)

        error NotFound (name: string, reason: string, fix: string)

        error AlreadyExists (name: string, reason: string, fix: string)

        # A spec field is out of range or malformed; field names it.
        error InvalidSpec (field: string, reason: string, fix: string)

        # The machine is not in a state that allows the operation.
        error InvalidState (name: string, state: string, reason: string, fix: string)

        # The host policy's limits or quotas refuse the request; limit names the setting.
        error QuotaExceeded (limit: string, field: string, reason: string, fix: string)
        """ + commonErrors

    static let auditDescription = """
        # The broker's audit log.
        interface org.hypernixos.Audit

        # Checks the SHA-256 hash chain of the whole audit log: the manifest, every sealed segment kept
        # and the active one. segment and brokenAtLine say where the chain first breaks; retiredSegments
        # were removed by retention. Called with "more": true, the replies before the last carry only
        # progress (bytes read of totalBytes).
        # polkit action: org.hypernixos.audit.verify
        method Verify() -> (
          intact: bool, records: int, brokenAtLine: ?int, reason: ?string, segment: ?string, segments: ?int,
          retiredSegments: ?int, progress: ?(bytes: int, totalBytes: int, segment: string)
        )
        """ + commonErrors
}
