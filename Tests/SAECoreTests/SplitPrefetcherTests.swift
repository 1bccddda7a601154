import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import SAECore

/// The prefetch thread of `index --codes` stays within its lead of what the pass has consumed,
/// goes on when the pass reports progress, and never outlives `stop()`, also while it waits.
final class SplitPrefetcherTests: XCTestCase {
    private func mappedFile(megabytes: Int) throws -> (ByteBuffer, URL) {
        let directory = Fixtures.temporaryDirectory()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent("columns.bin")
        try Data(count: megabytes << 20).write(to: url)
        return (try ByteBuffer(mapping: url.path), directory)
    }

    /// Polls (up to 10 s) until `condition` holds.
    private func eventually(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while !condition() {
            if Date() > deadline { return false }
            usleep(1000)
        }
        return true
    }

    /// Pages of `buffer` resident in memory (`mincore`).
    private func residentPages(_ buffer: ByteBuffer) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var vector = [UInt8](repeating: 0, count: (buffer.count + page - 1) / page)
        guard mincore(UnsafeMutableRawPointer(mutating: buffer.base), buffer.count, &vector) == 0 else { return -1 }
        return vector.filter { $0 & 1 != 0 }.count
    }

    /// Both ways of reading (`MADV_POPULATE_READ`, and one load per page where the kernel lacks
    /// it) bring every page of a file dropped from the page cache back into memory.
    func testEachWayOfReadingBringsEveryPageIntoMemory() throws {
        for populates in [true, false] {
            let (buffer, directory) = try mappedFile(megabytes: 20)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("columns.bin").path
            let fd = open(path, O_RDONLY)
            XCTAssertGreaterThanOrEqual(fd, 0)
            fsync(fd)
            XCTAssertEqual(posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED)), 0)
            close(fd)
            let pages = (buffer.count + Int(sysconf(Int32(_SC_PAGESIZE))) - 1) / Int(sysconf(Int32(_SC_PAGESIZE)))
            try XCTSkipIf(residentPages(buffer) > pages / 2, "the kernel kept the file's pages in memory: nothing to read")
            let prefetcher = SplitPrefetcher(lead: 64 << 20, populates: populates) { @Sendable [buffer] in
                [UnsafeRawBufferPointer(start: buffer.base, count: buffer.count)]
            }
            XCTAssertTrue(eventually { prefetcher.hasFinished }, "populates: \(populates)")
            prefetcher.stop()
            XCTAssertEqual(residentPages(buffer), pages, "populates: \(populates)")
            withExtendedLifetime(buffer) {}
        }
    }

    func testReadsNoFurtherAheadThanItsLeadAndGoesOnWithThePass() throws {
        let (buffer, directory) = try mappedFile(megabytes: 40)
        defer { try? FileManager.default.removeItem(at: directory) }
        let half = buffer.count / 2
        // Two ranges, as two splits' columns.
        let ranges = { @Sendable [buffer] in
            [UnsafeRawBufferPointer(start: buffer.base, count: half), UnsafeRawBufferPointer(start: buffer.base + half, count: buffer.count - half)]
        }
        let lead = 8 << 20
        let prefetcher = SplitPrefetcher(lead: lead, ranges: ranges)
        // Nothing consumed: it stops at the first 8 MB chunk that would pass the lead.
        XCTAssertTrue(eventually { prefetcher.waitingPosition != nil })
        let first = prefetcher.waitingPosition!
        XCTAssertGreaterThan(first, lead)
        XCTAssertLessThanOrEqual(first, lead + (8 << 20))
        // The pass is done with the first range: it reads on to the next limit.
        prefetcher.consumed(half)
        XCTAssertTrue(eventually { (prefetcher.waitingPosition ?? 0) > first })
        XCTAssertLessThanOrEqual(prefetcher.waitingPosition!, half + lead + (8 << 20))
        // Stopping while it waits returns (the thread is gone when stop() is).
        prefetcher.stop()
        XCTAssertTrue(prefetcher.hasFinished)
        XCTAssertNotNil(prefetcher.waitingPosition, "stopped while waiting, not after reading everything")

        // With everything consumed as it goes, it reads to the end on its own.
        let whole = SplitPrefetcher(lead: lead, ranges: ranges)
        whole.consumed(buffer.count)
        XCTAssertTrue(eventually { whole.hasFinished })
        XCTAssertNil(whole.waitingPosition)
        whole.stop()
        withExtendedLifetime(buffer) {}
    }
}
