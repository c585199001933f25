import Foundation
import Glibc
import HVImages
import HVProtocol
import HVTestSupport
import Testing

@Suite(.enabled(if: installed(.xorriso), "xorriso is not installed (Debian package xorriso)"))
struct CloudInitSeedTests {
    let directory: TemporaryDirectory
    let seed = CloudInitSeed()

    init() throws { directory = try TemporaryDirectory("hv-seed") }

    /// The primary volume descriptor's volume identifier (sector 16, bytes 40..<72), read directly.
    private func volumeLabel(_ path: String) throws -> String {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let descriptor = bytes[(16 * 2048)..<(17 * 2048)]
        #expect(Array(descriptor.prefix(6)) == [1] + Array("CD001".utf8))
        let identifier = descriptor.dropFirst(40).prefix(32)
        return String(decoding: identifier, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    /// The image's files, extracted with xorriso.
    private func extract(_ path: String) throws -> [String: String] {
        let target = directory.file("extracted")
        try mustRun(["/usr/bin/xorriso", "-no_rc", "-indev", path, "-osirrox", "on", "-extract", "/", target])
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: target) {
            files[name] = try String(contentsOfFile: target + "/" + name, encoding: .utf8)
        }
        return files
    }

    @Test func buildsANoCloudSeed() throws {
        let userData = "#cloud-config\nhostname: web1\nusers:\n  - name: ops\n"
        let network = "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n"
        let path = directory.file("web1-seed.iso")
        try seed.build(userData: userData, metaData: nil, networkConfig: network, instanceID: "web1", at: path)

        #expect(try volumeLabel(path) == "cidata")
        let files = try extract(path)
        #expect(Set(files.keys) == ["user-data", "meta-data", "network-config"])
        #expect(files["user-data"] == userData)
        #expect(files["network-config"] == network)
        #expect(files["meta-data"] == "instance-id: web1\nlocal-hostname: web1\n")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]
        #expect(mode as? Int == 0o600)
        #expect(try directory.names() == ["extracted", "web1-seed.iso"])
    }

    @Test func givenMetaDataIsKeptAsIsAndTheImageIsReplaced() throws {
        let path = try directory.write("seed.iso", Array("old".utf8))
        let metaData = "instance-id: web1-v2\nlocal-hostname: web\n"
        try seed.build(userData: "#cloud-config\n", metaData: metaData, networkConfig: nil, instanceID: "web1", at: path, mode: 0o644)
        let files = try extract(path)
        #expect(Set(files.keys) == ["user-data", "meta-data"])
        #expect(files["meta-data"] == metaData)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]
        #expect(mode as? Int == 0o644)
    }

    @Test func generatedMetaDataQuotesWhatYAMLWouldMisread() throws {
        let path = directory.file("seed.iso")
        try seed.build(userData: "#cloud-config\n", metaData: nil, networkConfig: nil, instanceID: "007", hostname: "true", at: path)
        let metaData = try #require(try extract(path)["meta-data"])
        #expect(metaData == "instance-id: '007'\nlocal-hostname: 'true'\n")
    }

    @Test(arguments: ["../etc", "web 1", "", "a\nb: c"])
    func anInvalidInstanceIDIsRefused(_ instanceID: String) throws {
        let error = #expect(throws: ImageError.self) {
            try seed.build(userData: "", metaData: nil, networkConfig: nil, instanceID: instanceID, at: directory.file("seed.iso"))
        }
        #expect(error?.code == .invalidParameter)
        #expect(try directory.names() == [])
    }

    @Test func oversizeUserDataIsRefused() throws {
        let userData = String(repeating: "a", count: CloudInitSeed.maximumFileBytes + 1)
        let error = #expect(throws: ImageError.self) {
            try seed.build(userData: userData, metaData: nil, networkConfig: nil, instanceID: "web1", at: directory.file("seed.iso"))
        }
        #expect(error?.code == .tooLarge)
        #expect(try directory.names() == [])
    }
}
