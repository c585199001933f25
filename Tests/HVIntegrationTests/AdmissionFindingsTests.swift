import Foundation
import HVProtocol
import HVTestSupport
import Testing

/// The zero-trust findings, each tried as a hostile local user would, on the real socket with real
/// polkitd and libvirtd.
extension ZeroTrustTests {
    /// A domain root defined with virsh is not the broker's: operators and viewers can't see it,
    /// start it, kill it or delete it (with its disks); an admin sees it and may adopt it.
    @Test func operatorsCantTouchADomainRootDefined() async throws {
        try withStack { stack in
            let name = "hv-it-rootdom"
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "destroy", name])
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "undefine", name])
            let xml = stack.base + "/rootdom.xml"
            try """
                <domain type='qemu'><name>\(name)</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
                <os><type arch='x86_64'>hvm</type></os><devices><hostdev mode='subsystem' type='usb'><source><vendor id='0x1d6b'/><product id='0x0002'/></source></hostdev></devices></domain>
                """.write(toFile: xml, atomically: true, encoding: .utf8)
            let defined = try run(["/usr/bin/virsh", "-c", "qemu:///system", "define", xml])
            try #require(defined.status == 0, "\(defined)")
            defer { _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "undefine", name]) }

            for arguments in [["vm", "start", name], ["vm", "kill", name], ["vm", "delete", name, "--remove-disks"], ["vm", "info", name]] {
                let operatorTry = try stack.hv(arguments, as: Stack.operatorUser)
                #expect(operatorTry.status == 3, "an operator must find no such machine: \(operatorTry)")
                #expect(operatorTry.stderr.contains("no virtual machine named '\(name)'"), "\(operatorTry)")
            }
            #expect(try stack.hv(["vm", "info", name], as: Stack.viewerUser).status == 3)
            #expect(try stack.hv(["vm", "info", name], as: Stack.strangerUser).status == 4)
            #expect(!(try stack.hv(["vm", "list"], as: Stack.operatorUser).stdout.contains(name)))
            #expect(try stack.hv(["vm", "list"], as: Stack.adminUser).stdout.contains(name), "admins see every domain")

            let state = try run(["/usr/bin/virsh", "-c", "qemu:///system", "domstate", name])
            #expect(state.stdout.contains("shut off"), "the domain is untouched: \(state)")

            // Adopting it would drop its host device, which a spec can't express: refused, by name.
            let adopt = try stack.hv(["vm", "adopt", name], as: Stack.adminUser)
            #expect(adopt.status == 2 && adopt.stderr.contains("devices/hostdev"), "\(adopt)")
            #expect(try stack.hv(["vm", "adopt", name], as: Stack.operatorUser).status == 4, "only admins adopt")
        }
    }

    /// An adopted domain is managed from then on: charged to a group, visible to viewers.
    @Test func anAdminAdoptsAPlainDomain() async throws {
        try withStack { stack in
            let name = "hv-it-adoptee"
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "undefine", name])
            let xml = stack.base + "/adoptee.xml"
            let volume = "\(name)-root.qcow2"
            _ = try stack.hv(["pool", "list"], as: Stack.viewerUser)  // the broker defines its pool on first use
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "vol-delete", volume, "--pool", "hv-it-images"])
            let made = try run(["/usr/bin/virsh", "-c", "qemu:///system", "vol-create-as", "hv-it-images", volume, "1G", "--format", "qcow2"])
            try #require(made.status == 0, "\(made)")
            try """
                <domain type='qemu'><name>\(name)</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>
                <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
                <source file='\(stack.stateDirectory)/images/\(volume)'/><target dev='vda' bus='virtio'/></disk></devices></domain>
                """.write(toFile: xml, atomically: true, encoding: .utf8)
            try #require(try run(["/usr/bin/virsh", "-c", "qemu:///system", "define", xml]).status == 0)
            defer { _ = try? stack.hv(["vm", "delete", name, "--remove-disks"], as: Stack.adminUser) }
            #expect(try stack.hv(["vm", "info", name], as: Stack.viewerUser).status == 3, "not visible before it is adopted")

            let adopted = try stack.hv(["vm", "adopt", name, "--group", "hypervisor-operators"], as: Stack.adminUser)
            #expect(adopted.status == 0, "\(adopted)")
            #expect(try stack.hv(["vm", "info", name], as: Stack.viewerUser).status == 0)
            let exported = try stack.hv(["vm", "export", name], as: Stack.operatorUser)
            #expect(exported.status == 0 && exported.stdout.contains("vcpus: 1") && exported.stdout.contains("name: root"), "\(exported)")
            #expect(try stack.hv(["vm", "info", name], as: Stack.operatorUser).status == 0)
        }
    }

    /// `hv vm create` goes through the same limits and quotas as a spec (limit: 2 vCPUs).
    @Test func createObeysTheHostPolicy() async throws {
        try withStack { stack in
            let created = try stack.hv(["vm", "create", "hv-it-huge", "--vcpus", "64", "--memory", "1T", "--disk", "16T"], as: Stack.operatorUser)
            #expect(created.status == 6, "\(created)")
            #expect(created.stderr.contains("limits.vcpus"), "\(created)")
            #expect(try stack.hv(["vm", "info", "hv-it-huge"], as: Stack.operatorUser).status == 3, "nothing was defined")
        }
    }

    /// Volumes can't be taken past the per-machine disk limit (64 GiB here).
    @Test func volumesObeyTheHostPolicy() async throws {
        try withStack { stack in
            let created = try stack.hv(["pool", "create-volume", "hv-it-huge.qcow2", "--size", "16TiB"], as: Stack.operatorUser)
            #expect(created.status == 6 && created.stderr.contains("limits.disk"), "\(created)")
            #expect(!FileManager.default.fileExists(atPath: stack.stateDirectory + "/images/hv-it-huge.qcow2"))
        }
    }

    /// A viewer gets the spec without the cloud-init data (passwords, keys); the operator gets it.
    @Test func exportRedactsCloudInitForViewers() async throws {
        try withStack { stack in
            let name = "hv-it-secret"
            clean(stack, [name])
            defer { clean(stack, [name]) }
            let secret = "hv-it-password-\(UUID().uuidString.prefix(8))"
            let path = try writeSpec(stack, """
                name: \(name)
                vcpus: 1
                memory: 128MiB
                disks: [{name: root, size: 1GiB}]
                cloud_init:
                  user_data: |
                    #cloud-config
                    password: \(secret)
                """, name: "secret.yaml")
            let applied = try stack.hv(["vm", "apply", path], as: Stack.operatorUser)
            try #require(applied.status == 0, "\(applied)")
            let viewer = try stack.hv(["vm", "export", name], as: Stack.viewerUser)
            #expect(viewer.status == 0 && !viewer.stdout.contains(secret) && viewer.stdout.contains("<redacted>"), "\(viewer)")
            let owner = try stack.hv(["vm", "export", name], as: Stack.operatorUser)
            #expect(owner.stdout.contains(secret), "\(owner)")
            var status = stat()
            #expect(stat(stack.stateDirectory + "/seeds/\(name)-seed.iso", &status) != 0 || status.st_mode & 0o077 == 0, "the seed stays 0600")
        }
    }
}

/// With the audit log's filesystem full, a change is refused and leaves no trace; reads go on.
/// (In the matrix suite: both start brokers over test-driver nodes and share the team users.)
extension AuthorizationMatrixTests {
    @Test func aFullAuditFilesystemRefusesChanges() throws {
        let stack = try Stack.shared.get()
        let mount = stack.base + "/full-audit"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        _ = try? run(["/bin/umount", mount])
        let mounted = try run(["/bin/mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount])
        try #require(mounted.status == 0, "cannot mount a small tmpfs to fill: \(mounted)")
        defer { _ = try? run(["/bin/umount", "-l", mount]) }
        let broker = try MatrixBroker(stack: stack, name: "full", operations: ["vmStart"], auditDirectory: mount)
        defer { _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"]) }
        // Fill what is left (the broker has written its first records already).
        _ = try run(["/bin/dd", "if=/dev/zero", "of=\(mount)/filler", "bs=4k"])
        let before = try String(contentsOfFile: mount + "/audit.jsonl", encoding: .utf8)

        let results = try broker.send([Matrix.call(.vmStart, "a-vmStart"), Matrix.call(.vmList, "")], as: MatrixBroker.ownerOperator)
        #expect(results[0].error == "org.hypernixos.Vm.AuditUnavailable", "\(results[0])")
        #expect(results[0].reason?.contains("nothing was changed") == true)
        #expect(results[1].error == nil, "reads still work: \(results[1])")
        #expect(try String(contentsOfFile: mount + "/audit.jsonl", encoding: .utf8) == before, "no partial record either")
    }
}

/// The test suite's broker leaves an installation on the same host alone: a machine the host's own
/// broker made (its record names that broker's pool) is not started by the suite's `hv host
/// autostart`, and is foreign to the suite's broker.
extension ZeroTrustTests {
    @Test func theSuitesBrokerLeavesTheHostsMachinesAlone() async throws {
        try withStack { stack in
            let name = "hv-it-hosts-own"
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "undefine", name])
            let spec = #"{"name":"\#(name)","vcpus":1,"memory":"64MiB","cdrom":"\#(stack.isoName)","autostart":{"enabled":true,"order":1}}"#
            let xml = stack.base + "/hosts-own.xml"
            try """
                <domain type='qemu'><name>\(name)</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>
                <metadata><hv:machine xmlns:hv="https://hypernixos.org/xmlns/machine/1"><hv:spec>\(spec)</hv:spec>
                <hv:owner uid="0" group="hypervisor-operators"/><hv:template>false</hv:template><hv:tags/></hv:machine></metadata></domain>
                """.write(toFile: xml, atomically: true, encoding: .utf8)
            try #require(try run(["/usr/bin/virsh", "-c", "qemu:///system", "define", xml]).status == 0)
            defer { _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "undefine", name]) }

            let autostart = try stack.hv(["host", "autostart"], as: Stack.adminUser)
            #expect(!autostart.stdout.contains(name), "\(autostart)")
            let state = try run(["/usr/bin/virsh", "-c", "qemu:///system", "domstate", name])
            #expect(state.stdout.contains("shut off"), "the host's machine is still stopped: \(state)")
            #expect(try stack.hv(["vm", "info", name], as: Stack.operatorUser).status == 3, "not the suite broker's machine")
            let adopt = try stack.hv(["vm", "adopt", name], as: Stack.adminUser)
            #expect(adopt.status == 6 && adopt.stderr.contains("another broker"), "\(adopt)")
        }
    }
}
