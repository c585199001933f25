import Foundation
import HVImages
import HVLibvirt
import HVProtocol
#if canImport(FoundationXML)
import FoundationXML
#endif

extension LibvirtHypervisor {
    /// Probes a template image with its format stated (never guessed) and refuses one that has a
    /// backing file or an external data file: such an image could make a guest read other host files.
    func probeTemplate(path: String) throws -> ImageInfo {
        let probe = ImageProbe(runner: processRunner)
        do {
            let info = try probe.probe(path: path, format: .qcow2)
            try ImagePolicy(maximumVirtualSize: 16 << 40).checkImported(info)
            return info
        } catch {
            throw error.hvError
        }
    }

    /// The directory a directory pool keeps its volumes in, from the pool's XML.
    func poolDirectory(_ pool: StoragePool) throws -> String {
        if pool.name == layout.poolName { return layout.imageDirectory }
        let document = try XMLDocument(xmlString: try pool.xmlDescription(), options: [])
        guard let path = try document.nodes(forXPath: "/pool/target/path").first?.stringValue, path.hasPrefix("/") else {
            throw HVError(.failed, "storage pool \(pool.name) has no target directory", fix: "machines can only use directory pools")
        }
        return path
    }
}
