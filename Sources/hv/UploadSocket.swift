import Foundation

/// Where the broker's upload socket is: the one named on the command line, else $HV_UPLOAD_SOCKET,
/// else `upload.sock` beside the broker socket.
enum UploadSocket {
    static func path(_ named: String?, _ options: GlobalOptions) -> String {
        if let named { return named }
        if let socket = ProcessInfo.processInfo.environment["HV_UPLOAD_SOCKET"] { return socket }
        return (Runner.socketPath(options) as NSString).deletingLastPathComponent + "/upload.sock"
    }
}
