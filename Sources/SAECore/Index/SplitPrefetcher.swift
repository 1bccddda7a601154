#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Reads mapped byte ranges (a delphi cache's split columns) from the disk on a thread of its own,
/// in the order the index pass takes them, so the pass's threads find them in memory instead of
/// stopping on page faults that each read 128 KB: the disk then works while both cores compute.
/// Each 8 MB chunk is asked for with `MADV_WILLNEED` (one large asynchronous read, issued a chunk
/// ahead) and then mapped with `MADV_POPULATE_READ` (waits for it, and maps the pages so the pass
/// takes no page faults on them at all). It stays at most `lead` bytes ahead of what the pass
/// reports done (`consumed(_:)`), so a cache larger than memory is not read into pages that are
/// evicted before the pass gets to them. Advice only: the pass is correct whatever it does.
final class SplitPrefetcher: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false
    private var consumedBytes = 0
    private var waitingAt: Int?
    private var threadDone = false
    private let lead: Int
    private let finished = DispatchSemaphore(value: 0)
    /// Bytes touched when the kernel has no `MADV_POPULATE_READ` (before Linux 5.14), kept so the loads stay.
    private var touched: UInt8 = 0

    private static let chunk = 8 << 20
    private static let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// Linux's MADV_POPULATE_READ (the C headers here predate it).
    private static let populateRead: Int32 = 22

    /// Starts reading the byte ranges `ranges()` gives (found on the thread: finding them may
    /// read the disk too), in order; they must stay mapped until `stop()` returns. `populates`
    /// false takes the path of a kernel without `MADV_POPULATE_READ` (tests).
    init(lead: Int = defaultLead, populates: Bool = true, ranges: @escaping @Sendable () -> [UnsafeRawBufferPointer]) {
        self.lead = max(Self.chunk, lead)
        let thread = Thread { [self] in
            read(ranges().filter { $0.count > 0 }, populates: populates)
            condition.withLock { threadDone = true }
            finished.signal()
        }
        thread.name = "saescope prefetch"
        thread.start()
    }

    /// A quarter of the memory, at least 256 MB: room for the splits in work and the next ones.
    static var defaultLead: Int { max(256 << 20, Int(ProcessInfo.processInfo.physicalMemory / 4)) }

    /// The pass is done with `bytes` more of the ranges (in any order).
    func consumed(_ bytes: Int) {
        condition.withLock { consumedBytes += bytes }
        condition.signal()
    }

    /// Where the thread waits for the pass to catch up, or nil (tests).
    var waitingPosition: Int? { condition.withLock { waitingAt } }
    /// The thread has read everything or stopped (tests).
    var hasFinished: Bool { condition.withLock { threadDone } }

    /// Stops reading and waits for the thread (it never outlives the pass).
    func stop() {
        condition.withLock { stopped = true }
        condition.signal()
        finished.wait()
    }

    /// Waits until reading up to `position` keeps within the lead; false once stopped.
    private func mayRead(upTo position: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !stopped && position - consumedBytes > lead {
            waitingAt = position
            condition.wait()
        }
        if stopped { return false }
        waitingAt = nil
        return true
    }

    private func read(_ ranges: [UnsafeRawBufferPointer], populates: Bool) {
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
        var populates = populates
        var position = chunks[0].count
        guard mayRead(upTo: position) else { return }
        _ = madvise(chunks[0].baseAddress, chunks[0].count, MADV_WILLNEED)
        for (i, chunk) in chunks.enumerated() {
            if i + 1 < chunks.count {
                position += chunks[i + 1].count
                guard mayRead(upTo: position) else { return }
                _ = madvise(chunks[i + 1].baseAddress, chunks[i + 1].count, MADV_WILLNEED)
            } else if !mayRead(upTo: position) {
                return
            }
            if populates {
                if madvise(chunk.baseAddress, chunk.count, Self.populateRead) == 0 { continue }
                // Only a kernel without it (EINVAL) falls back to loads; a failed read stops the
                // thread, and the pass reports the file's problem itself.
                guard errno == EINVAL else { return }
                populates = false
            }
            // One load per page waits for the read as well (and maps the page).
            var offset = 0
            while offset < chunk.count {
                touched &+= chunk.load(fromByteOffset: offset, as: UInt8.self)
                offset += Self.page
            }
        }
    }
}
