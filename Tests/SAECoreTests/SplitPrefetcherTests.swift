import XCTest
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
