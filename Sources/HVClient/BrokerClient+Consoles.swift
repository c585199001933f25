import Foundation
import HVProtocol
import HVSystem

extension BrokerClient {
    /// The running machine's screen as a PNG file, and its size.
    public func screenshot(_ name: String) throws(HVError) -> (png: Data, width: Int, height: Int) {
        let reply = try connection.call(Method.vmScreenshot, VmNameParameters(name: name), as: VmScreenshotReply.self)
        guard let png = Data(base64Encoded: reply.png) else {
            throw HVError(.protocolError, "the broker's screenshot of '\(name)' is not base64")
        }
        return (png, reply.width, reply.height)
    }
}

extension DescriptorPassing {
    /// Attaches to the machine's serial console: the reply, and the socket whose bytes are the
    /// console's both ways (closing it detaches).
    public static func openConsole(
        _ name: String, force: Bool, socketPath: String = defaultSocketPath
    ) throws(HVError) -> (VmOpenConsoleReply, Descriptor) {
        try receiving(Method.vmOpenConsole, VmOpenConsoleParameters(name: name, force: force), socketPath: socketPath)
    }

    /// A new connection to the machine's display, speaking the protocol the reply names.
    public static func openGraphics(
        _ name: String, socketPath: String = defaultSocketPath
    ) throws(HVError) -> (VmOpenGraphicsReply, Descriptor) {
        try receiving(Method.vmOpenGraphics, VmNameParameters(name: name), socketPath: socketPath)
    }
}
