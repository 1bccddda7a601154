import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes whole files so that readers see either the old file or the complete new one:
/// the bytes go to a temporary file in the same directory, are flushed, then renamed over.
/// A signal handler can call `removeActiveTemporaryFile()` so an interrupted write leaves nothing.
public enum AtomicFile {
    /// Appends bytes to the temporary file.
    public struct Writer {
        fileprivate let descriptor: Int32
        fileprivate let path: String
        fileprivate let progress = WritebackProgress()

        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            var written = 0
            while written < bytes.count {
                // In pieces, each handed to the disk as soon as it is in the page cache: the final
                // fsync then waits for the last piece instead of the whole file (80-95 ms for a
                // 261 MB index at F = 32768 on this machine's disk, with the cores idle).
                let piece = min(bytes.count - written, WritebackProgress.piece)
                let result = systemWrite(descriptor, bytes.baseAddress! + written, piece)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw SaescopeError("cannot write: \(String(cString: strerror(errno)))", file: path)
                }
                written += result
                progress.wrote(result, descriptor: descriptor)
            }
        }

        public func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(to: path) { try $0.write(bytes) }
    }

    /// Runs `body` with a writer to a temporary file, then moves the file to `path`. On any
    /// error the temporary file is removed and `path` is left as it was.
    public static func write(to path: String, _ body: (Writer) throws -> Void) throws {
        let temporary = path + ".partial-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else {
            throw SaescopeError("cannot create file: \(String(cString: strerror(errno)))", file: path)
        }
        setActiveTemporaryPath(temporary)
        defer { setActiveTemporaryPath(nil) }
        do {
            try body(Writer(descriptor: descriptor, path: path))
            guard fsync(descriptor) == 0 else {
                throw SaescopeError("cannot flush: \(String(cString: strerror(errno)))", file: path)
            }
            close(descriptor)
            guard rename(temporary, path) == 0 else {
                throw SaescopeError("cannot move into place: \(String(cString: strerror(errno)))", file: path)
            }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
    }

    /// Bytes written so far and how many of them were handed to the disk.
    fileprivate final class WritebackProgress {
        static let piece = 8 << 20
        private var written: Int64 = 0
        private var started: Int64 = 0

        func wrote(_ count: Int, descriptor: Int32) {
            written += Int64(count)
            guard written - started >= Int64(Self.piece) else { return }
            _ = ck_start_writeback(descriptor, started, written - started)
            started = written
        }
    }

    // The path of the temporary file being written, as a C string a signal handler may unlink.
    nonisolated(unsafe) private static var activeTemporaryPath: UnsafeMutablePointer<CChar>?

    private static func setActiveTemporaryPath(_ path: String?) {
        let previous = activeTemporaryPath
        activeTemporaryPath = path.map { strdup($0) }
        free(previous)
    }

    /// Async-signal-safe: unlinks the temporary file of a write in progress, if any.
    public static func removeActiveTemporaryFile() {
        if let path = activeTemporaryPath { unlink(path) }
    }
}

@inline(__always)
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(descriptor, buffer, count)
    #else
    return Darwin.write(descriptor, buffer, count)
    #endif
}
