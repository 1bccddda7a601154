import XCTest
import SAECore

/// README's Slurm job array, run for real on a one-node cluster this test starts
/// (tools/tests/slurm_job_array.sh: munged, slurmctld, slurmd on loopback, stopped in all cases):
/// four `index --shard I/4` array tasks, then `merge` with --dependency=afterok; the merged index
/// must equal one pass over the same cache.
final class SlurmJobArrayTests: XCTestCase {
    func testReadmeJobArrayMergesToOnePass() throws {
        let fixtures = SaescopeBinary.fixtures
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-slurm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let sae = fixtures.appendingPathComponent("dictionaries/dl_autoencoder").path
        let acts = fixtures.appendingPathComponent("caches/tiny_sharded").path
        let script = fixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/tests/slurm_job_array.sh")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, SaescopeBinary.url.deletingLastPathComponent().path, sae, acts, scratch.path]
        let log = Pipe()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        // The script bounds itself (150 s); this bounds the script, whose traps stop the daemons.
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 240, execute: watchdog)
        let output = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        watchdog.cancel()
        XCTAssertEqual(process.terminationStatus, 0, output)

        let merged = try IndexFile.read(path: scratch.appendingPathComponent("index/merged.safetensors").path)
        let onePassPath = scratch.appendingPathComponent("one-pass.safetensors").path
        let result = try SaescopeBinary.run(["index", "--sae", sae, "--acts", acts, "--out", onePassPath])
        XCTAssertEqual(result.status, 0, result.stderr)
        let whole = try IndexFile.read(path: onePassPath)
        XCTAssertEqual(merged.provenance.shards, [0, 1, 2, 3])
        XCTAssertEqual(merged.tokenCount, whole.tokenCount)
        let a = merged.tables, b = whole.tables
        XCTAssertEqual(a.count, b.count)
        XCTAssertEqual(a.histogram, b.histogram)
        XCTAssertEqual(a.topCount, b.topCount)
        XCTAssertEqual(a.topRow, b.topRow)
        XCTAssertEqual(a.topValue, b.topValue)
        XCTAssertEqual(Array(a.topTokens), Array(b.topTokens))
        XCTAssertEqual(a.intervalCount, b.intervalCount)
        XCTAssertEqual(a.sampleCount, b.sampleCount)
        let n = a.options.intervals, m = a.options.perInterval
        for cell in 0..<(a.featureCount * n) {
            let rowsA = (0..<Int(a.sampleCount[cell])).map { a.sampleRow[cell * m + $0] }.sorted()
            let rowsB = (0..<Int(b.sampleCount[cell])).map { b.sampleRow[cell * m + $0] }.sorted()
            XCTAssertEqual(rowsA, rowsB, "interval samples of cell \(cell)")
        }
        for j in 0..<a.featureCount {
            XCTAssertEqual(a.sum[j], b.sum[j], accuracy: 1e-9 * max(1, abs(b.sum[j])), "sum of feature \(j)")
        }
        XCTAssertEqual(merged.metrics.result().fvu, whole.metrics.result().fvu, accuracy: 1e-9)
    }
}
