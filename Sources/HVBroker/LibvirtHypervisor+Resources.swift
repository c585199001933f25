import HVProtocol
import HVServer

extension LibvirtHypervisor {
    public func perform(_ request: ResourceRequest, caller: Peer) async throws(HVError) -> [String: JSONValue] {
        switch request {
        case .isoList: return try await isoList()
        case .isoVerify(let name): return try await isoVerify(name)
        case .isoRemove(let name): return try await isoRemove(name)
        default: throw HVError(.failed, "\(request.operation.action) is being wired")
        }
    }
}
