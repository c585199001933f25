import Foundation

/// Node files for libvirt's test driver (`test:///PATH`): the objects of `test:///default`, but a
/// state of their own for each connection opened from the file.
///
/// `test:///default` is one state shared by every connection of the test process, and suites
/// assert on it (which domains are inactive, which autostart), so tests that define or change
/// things open a node file instead.
public enum TestDriverNode {
    /// The network `default` on `virbr0` and the directory pool `default-pool`, plus `domains`.
    public static func xml(domains: String = "") -> String {
        """
        <node>
          \(domains)
          <network>
            <name>default</name>
            <bridge name='virbr0'/>
            <forward/>
            <ip address='192.168.122.1' netmask='255.255.255.0'>
              <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
            </ip>
          </network>
          <pool type='dir'>
            <name>default-pool</name>
            <target><path>/default-pool</path></target>
          </pool>
        </node>
        """
    }

    /// Writes `xml` to a new file in `directory` and returns its path.
    public static func write(_ xml: String, in directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/node-\(UUID().uuidString.prefix(8)).xml"
        try xml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
