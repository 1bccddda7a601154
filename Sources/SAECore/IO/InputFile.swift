#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The one check every input path passes before it is opened for reading or memory-mapping:
/// it must be a regular file. A FIFO would block the open (or the read) forever, a device may
/// never end, and a directory cannot be mapped; all are refused with a one-line error.
public enum InputFile {
    /// Opens `path` read-only after checking it names a regular file, without ever blocking on
    /// a FIFO (the open is non-blocking; the descriptor is switched back to blocking for reads).
    /// Returns the descriptor (the caller closes it) and the file's size.
    public static func openRegular(_ path: String) throws -> (descriptor: Int32, size: Int) {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw SaescopeError("cannot open: \(String(cString: strerror(errno)))", file: path)
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let problem = String(cString: strerror(errno))
            close(descriptor)
            throw SaescopeError("cannot stat: \(problem)", file: path)
        }
        if let problem = refusal(mode: info.st_mode) {
            close(descriptor)
            throw SaescopeError(problem, file: path)
        }
        let flags = fcntl(descriptor, F_GETFL)
        if flags >= 0 { _ = fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK) }
        return (descriptor, Int(info.st_size))
    }

    /// Throws unless `path` names a regular file (following symlinks); never opens it.
    public static func requireRegular(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw SaescopeError("cannot open: \(String(cString: strerror(errno)))", file: path)
        }
        if let problem = refusal(mode: info.st_mode) { throw SaescopeError(problem, file: path) }
    }

    /// The whole of regular file `path` (read through a memory map, so never from a pipe).
    public static func contents(_ path: String) throws -> Data {
        let buffer = try ByteBuffer(mapping: path)
        return Data(buffer.bytes)
    }

    /// Why a file of this mode cannot be read as an input, or nil for a regular file.
    static func refusal(mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "is a directory, expected a file"
        case S_IFIFO: return "is a FIFO (named pipe), not a regular file; saescope reads only regular files"
        case S_IFCHR, S_IFBLK: return "is a device, not a regular file; saescope reads only regular files"
        case S_IFSOCK: return "is a socket, not a regular file; saescope reads only regular files"
        default: return "is not a regular file"
        }
    }
}
