#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Immutable bytes that stay valid while the buffer lives: a read-only memory map of a file,
/// or an owned heap copy. Tensors keep a reference to the buffer they view.
public final class ByteBuffer: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let count: Int
    private let release: () -> Void

    /// Memory-maps `path` read-only (a regular file only: see `InputFile`). An empty file gives an empty buffer.
    public init(mapping path: String) throws {
        let (fd, size) = try InputFile.openRegular(path)
        defer { close(fd) }
        if size == 0 {
            let empty = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 16)
            base = UnsafeRawPointer(empty)
            count = 0
            release = { empty.deallocate() }
            return
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw SaescopeError(Self.errnoText("cannot memory-map"), file: path)
        }
        base = UnsafeRawPointer(mapped)
        count = size
        release = { munmap(mapped, size) }
    }

    /// An owned copy of `bytes`, 64-byte aligned.
    public init<C: Collection>(copying bytes: C) where C.Element == UInt8 {
        let size = bytes.count
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 64)
        let typed = memory.bindMemory(to: UInt8.self, capacity: max(size, 1))
        _ = UnsafeMutableBufferPointer(start: typed, count: size).initialize(from: bytes)
        base = UnsafeRawPointer(memory)
        count = size
        release = { memory.deallocate() }
    }

    /// Takes ownership of `byteCount` bytes filled by `fill`, 64-byte aligned.
    public init(byteCount: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        do {
            try fill(UnsafeMutableRawBufferPointer(start: memory, count: byteCount))
        } catch {
            memory.deallocate()
            throw error
        }
        base = UnsafeRawPointer(memory)
        count = byteCount
        release = { memory.deallocate() }
    }

    deinit { release() }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    private static func errnoText(_ what: String) -> String {
        "\(what): \(String(cString: strerror(errno)))"
    }
}
