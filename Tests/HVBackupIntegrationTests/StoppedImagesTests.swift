import Foundation
import HVBackup
import HVTestSupport
import Testing

/// A stopped machine's images read through qemu-nbd.
@Suite(.serialized, .enabled(if: BackupHost.enabled, "needs root, libvirtd and HV_INTEGRATION=1"))
struct StoppedImagesTests {
    static let mebibyte = 1 << 20

    /// What qemu-nbd serves is what `qemu-img convert -O raw` makes of the image, and only the
    /// chunks with data are read: allocated zeros and unallocated ranges are not.
    @Test func aStoppedMachinesDiskReadsAsQemuImgConvertMakesIt() throws {
        let machine = try TestMachine("stopped", diskSize: "64M")
        defer { machine.remove() }
        try machine.write(pattern: 0x11, at: 0, length: 3 * Self.mebibyte)
        try machine.write(pattern: 0x22, at: 20 * Self.mebibyte + 4096, length: Self.mebibyte + 512)
        try expectSuccess(run(["qemu-io", "-f", "qcow2", "-c", "write -z \(40 * Self.mebibyte) \(4 * Self.mebibyte)", machine.disk]))

        let read = try readDisks(.stopped(StoppedImages(domain: machine.domain, qemuNBD: BackupHost.qemuNBD, env: BackupHost.env)))
        let converted = machine.directory + "/converted.raw"
        try expectSuccess(run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", machine.disk, converted]))
        let vda = try #require(read.disks["vda"])
        #expect(vda.image == Array(try Data(contentsOf: URL(fileURLWithPath: converted))))
        #expect(vda.kinds.count == 16)
        #expect(vda.dataIndexes == [0, 5])
        #expect(read.summary.bytesRead == UInt64(8 * Self.mebibyte))
        #expect(read.summary.checkpoint == nil)
        // qemu-nbd is gone: nothing holds the image.
        #expect(try machine.bitmaps() == [])
        try expectSuccess(run(["qemu-img", "info", "-f", "qcow2", machine.disk]))

        // Chunks smaller than a read, several to a read, in reads that end off any MiB boundary
        // (12 KiB: 85 chunks to a read), and as large as a read: the same disk, chunk by chunk in
        // order, only data read, whatever the reads in flight when the data ends.
        for chunkSize in [12 << 10, 64 << 10, 1 << 20] {
            let again = try readDisks(
                .stopped(StoppedImages(domain: machine.domain, qemuNBD: BackupHost.qemuNBD, env: BackupHost.env)), chunkSize: chunkSize)
            let disk = try #require(again.disks["vda"])
            #expect(disk.image == vda.image, "chunks of \(chunkSize) bytes")
            #expect(disk.kinds.count == (64 * Self.mebibyte + chunkSize - 1) / chunkSize)
            #expect(again.summary.bytesRead == UInt64(disk.dataIndexes.count * chunkSize))
            #expect(again.summary.bytesRead < UInt64(8 * Self.mebibyte), "zeros and holes are not read")
        }
    }
}
