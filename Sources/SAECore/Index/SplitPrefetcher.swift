#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Reads mapped byte ranges (a delphi cache's split columns) from the disk on a thread of its own,
/// in the order the index pass takes them, so the pass's threads find them in memory instead of
/// stopping on page faults that each read 128 KB: the disk then works while both cores compute.
/// Each 8 MB chunk is asked for with `MADV_WILLNEED` (one large asynchronous read, issued a chunk
/// ahead) and then mapped with `MADV_POPULATE_READ` (waits for it, and maps the pages so the pass
/// takes no page faults on them at all). Advice only: the pass is correct whatever it does.
final class SplitPrefetcher: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private let finished = DispatchSemaphore(value: 0)
    /// Bytes touched when the kernel has no `MADV_POPULATE_READ` (before Linux 5.14), kept so the loads stay.
    private var touched: UInt8 = 0

    private static let chunk = 8 << 20
    private static let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// Linux's MADV_POPULATE_READ (the C headers here predate it).
    private static let populateRead: Int32 = 22

    /// Starts reading the byte ranges `ranges()` gives (found on the thread: finding them may
    /// read the disk too), in order; they must stay mapped until `stop()` returns.
    init(ranges: @escaping @Sendable () -> [UnsafeRawBufferPointer]) {
        let thread = Thread { [self] in
            read(ranges().filter { $0.count > 0 })
            finished.signal()
        }
        thread.name = "saescope prefetch"
        thread.start()
    }

    /// Stops reading and waits for the thread (it never outlives the pass).
    func stop() {
        lock.withLock { stopped = true }
        finished.wait()
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func read(_ ranges: [UnsafeRawBufferPointer]) {
        // Page-aligned chunks of every range, in order.
        var chunks: [UnsafeMutableRawBufferPointer] = []
        for range in ranges {
            let start = Int(bitPattern: range.baseAddress!) & ~(Self.page - 1), end = Int(bitPattern: range.baseAddress!) + range.count
            var at = start
            while at < end {
                let size = min(Self.chunk, end - at)
                chunks.append(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: at), count: size))
                at += size
            }
        }
        guard !chunks.isEmpty else { return }
        var populates = true
        _ = madvise(chunks[0].baseAddress, chunks[0].count, MADV_WILLNEED)
        for (i, chunk) in chunks.enumerated() {
            if isStopped { return }
            if i + 1 < chunks.count { _ = madvise(chunks[i + 1].baseAddress, chunks[i + 1].count, MADV_WILLNEED) }
            if populates, madvise(chunk.baseAddress, chunk.count, Self.populateRead) == 0 { continue }
            populates = false
            // One load per page waits for the read as well (and maps the page).
            var offset = 0
            while offset < chunk.count {
                touched &+= chunk.load(fromByteOffset: offset, as: UInt8.self)
                offset += Self.page
            }
        }
    }
}
