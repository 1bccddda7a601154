#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes whole files so that readers see either the old file or the complete new one:
/// the bytes go to a temporary file in the same directory, are flushed, then renamed over.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try bytes.withUnsafeBytes { try write(chunks: [$0], to: path) }
    }

    public static func write(chunks: [UnsafeRawBufferPointer], to path: String) throws {
        let temporary = path + ".partial-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw SaescopeError("cannot create file: \(String(cString: strerror(errno)))", file: path)
        }
        var failure: SaescopeError?
        outer: for chunk in chunks {
            var written = 0
            while written < chunk.count {
                let result = Glibc.write(fd, chunk.baseAddress! + written, chunk.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = SaescopeError("cannot write: \(String(cString: strerror(errno)))", file: path)
                    break outer
                }
                written += result
            }
        }
        if failure == nil, fsync(fd) != 0 {
            failure = SaescopeError("cannot flush: \(String(cString: strerror(errno)))", file: path)
        }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 {
            failure = SaescopeError("cannot move into place: \(String(cString: strerror(errno)))", file: path)
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }
}
