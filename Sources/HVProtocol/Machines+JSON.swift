// `Vm.Info` and `Vm.List` replies write themselves, as `Host.Stats`' does (`Stats+JSON.swift`):
// they are the replies a frontend asks for most, and `Encodable` was about a tenth of the broker's
// own CPU per `Vm.Info`. Members are written in sorted order, by their UTF-8 bytes;
// `JSONWritableTests` compares each with the `Encodable` text.

extension VmInfoReply: JSONWritable {
    public func write(into writer: inout JSONWriter) throws(JSONWriter.NonFiniteNumber) {
        writer.openObject()
        writer.member("vm")
        try vm.write(into: &writer)
        writer.closeObject()
    }
}

extension VmDetails: JSONWritable {
    public func write(into writer: inout JSONWriter) throws(JSONWriter.NonFiniteNumber) {
        writer.openObject()
        writer.member("autostart", autostart)
        writer.member("autostartOrder", autostartOrder)
        writer.member("cpuTimeNs", cpuTimeNs)
        try writer.member("disks", disks)
        writer.member("domainType", domainType)
        try writer.member("hostFeatures", hostFeatures)
        writer.member("memoryMiB", memoryMiB)
        writer.member("name", name)
        writer.member("state", state)
        writer.member("tpm", tpm)
        writer.member("uuid", uuid)
        writer.member("vcpus", vcpus)
        writer.closeObject()
    }
}

extension VmDisk: JSONWritable {
    public func write(into writer: inout JSONWriter) {
        writer.openObject()
        writer.member("device", device)
        writer.member("source", source)
        writer.member("target", target)
        writer.closeObject()
    }
}

extension HostFeatures: JSONWritable {
    public func write(into writer: inout JSONWriter) throws(JSONWriter.NonFiniteNumber) {
        writer.openObject()
        try writer.member("cpuPins", cpuPins)
        writer.member("hugepages", hugepages)
        writer.member("pciDevices", pciDevices)
        writer.member("usbDevices", usbDevices)
        writer.closeObject()
    }
}

extension CpuPin: JSONWritable {
    public func write(into writer: inout JSONWriter) {
        writer.openObject()
        writer.member("cpus", cpus)
        writer.member("vcpu", vcpu)
        writer.closeObject()
    }
}

extension VmListReply: JSONWritable {
    public func write(into writer: inout JSONWriter) throws(JSONWriter.NonFiniteNumber) {
        writer.openObject()
        try writer.member("vms", vms)
        writer.closeObject()
    }
}

extension VmSummary: JSONWritable {
    public func write(into writer: inout JSONWriter) {
        writer.openObject()
        writer.member("managed", managed)
        writer.member("name", name)
        writer.member("state", state)
        writer.member("tags", tags)
        writer.member("template", template)
        writer.member("uuid", uuid)
        writer.closeObject()
    }
}
