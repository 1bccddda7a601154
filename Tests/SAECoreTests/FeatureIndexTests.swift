import XCTest
@testable import SAECore

/// The streaming index against brute force computed with numpy from dictionary_learning's own
/// codes (tools/fixtures/make_index_reference.py): exact for counts, histograms, top-k rows,
/// interval samples and context tokens; 1e-5 for floats.
final class FeatureIndexTests: XCTestCase {
    private func referenceOptions() -> FeatureIndexOptions {
        var options = FeatureIndexOptions()
        options.topK = 5
        options.context = 2
        options.intervals = 4
        options.perInterval = 2
        options.bins = 8
        options.seed = 7
        return options
    }

    private func build(chunkRows: Int? = nil, shard: (Int, Int) = (0, 1), cache cachePath: String = "caches/tiny_f32.safetensors") throws -> FeatureIndex {
        var options = referenceOptions()
        options.shardIndex = shard.0
        options.shardCount = shard.1
        let sae = try DictionaryLoader.load(path: Fixtures.path("dictionaries/dl_autoencoder"))
        let cache = try ActivationCache(path: Fixtures.path(cachePath))
        return try FeatureIndexBuilder.build(sae: sae, saePath: "dl_autoencoder", cache: cache, options: options, chunkRows: chunkRows)
    }

    /// Each row's squared error reaches the index's position buckets (taken from the metrics' own
    /// row sums): the buckets add up to the metrics' total and are the same whatever the chunk size
    /// (to fp32 rounding: a chunk of other rows may encode by another path, 1e-7 relative here).
    func testPositionBucketsHoldEveryRowsSquaredError() throws {
        let whole = try build()
        let positions = try XCTUnwrap(whole.coreStatistics?.positions)
        let total = whole.metrics.result().mse * Double(whole.metrics.tokenCount)
        XCTAssertGreaterThan(total, 0)
        XCTAssertEqual(positions.squaredError.reduce(0, +), total, accuracy: 1e-9 * total)
        for chunk in [7, 1] {
            let other = try XCTUnwrap(try build(chunkRows: chunk).coreStatistics?.positions)
            XCTAssertEqual(other.count, positions.count, "chunk \(chunk)")
            XCTAssertEqual(other.squaredError.count, positions.squaredError.count)
            for (a, b) in zip(other.squaredError, positions.squaredError) { XCTAssertEqual(a, b, accuracy: 1e-6 * max(1, b), "chunk \(chunk)") }
        }
    }

    func testEveryFeatureMatchesTheBruteForceReference() throws {
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("reference/index_dl_autoencoder.json")))) as! [String: Any]
        let features = reference["features"] as! [[String: Any]]
        for chunk in [nil, 7, 1] as [Int?] {
            let index = try build(chunkRows: chunk)
            XCTAssertEqual(index.featureCount, features.count)
            for (j, expected) in features.enumerated() {
                let label = "feature \(j), chunk \(chunk.map(String.init) ?? "default")"
                XCTAssertEqual(Int(index.tables.count[j]), expected["count"] as! Int, label)
                XCTAssertEqual(index.tables.sum[j], expected["sum"] as! Double, accuracy: 1e-5 * max(1, abs(expected["sum"] as! Double)), label)
                XCTAssertEqual(Double(index.maxActivation(j)), expected["max"] as! Double, accuracy: 1e-5, label)
                guard index.tables.count[j] > 0 else { continue }
                let histogram = index.histogram(j)
                XCTAssertEqual(Double(histogram.upperEdge), expected["upper"] as! Double, label)
                XCTAssertEqual(histogram.counts.map { Int($0) }, expected["histogram"] as! [Int], label)
                let top = index.topExemplars(j)
                XCTAssertEqual(top.map(\.row), expected["top_rows"] as! [Int], label)
                for (exemplar, value) in zip(top, expected["top_values"] as! [Double]) {
                    XCTAssertEqual(Double(exemplar.value), value, accuracy: 1e-5, label)
                }
                XCTAssertEqual(top.map { $0.contextTokens.map(Int.init) }, expected["top_context_tokens"] as! [[Int]], label)
                for (exemplar, acts) in zip(top, expected["top_context_acts"] as! [[Any]]) {
                    for (actual, wanted) in zip(exemplar.contextActivations, acts) {
                        if let wanted = wanted as? Double {
                            XCTAssertEqual(Double(actual), wanted, accuracy: 1e-5, label)
                        } else {
                            XCTAssertTrue(actual.isNaN, "\(label): context outside the sequence should be NaN")
                        }
                    }
                }
                let intervals = index.intervalExemplars(j)
                let total = Double(index.tables.count[j])
                XCTAssertEqual(intervals.map { Int(($0.share * total).rounded()) }, expected["interval_counts"] as! [Int], label)
                XCTAssertEqual(intervals.map { $0.exemplars.map(\.row).sorted() }, expected["interval_rows"] as! [[Int]], label)
            }
        }
    }

    func testMetricsFromTheIndexPassEqualEval() throws {
        let index = try build()
        let sae = try DictionaryLoader.load(path: Fixtures.path("dictionaries/dl_autoencoder"))
        let eval = try DictionaryEvaluator.evaluate(sae, cache: ActivationCache(path: Fixtures.path("caches/tiny_f32.safetensors")))
        let fromIndex = index.metrics.result()
        for definition in MetricDefinition.all {
            XCTAssertEqual(definition.value(fromIndex), definition.value(eval), accuracy: 1e-9, definition.key)
        }
        XCTAssertEqual(fromIndex.tokenCount, 64)
    }

    func testMergedShardsEqualOnePass() throws {
        let whole = try build()
        let shards = try (0..<3).map { try build(chunkRows: 5, shard: ($0, 3)) }
        XCTAssertEqual(shards.map { $0.provenance.endRow - $0.provenance.firstRow }.reduce(0, +), 64)
        let merged = try IndexMerger.merge([shards[2], shards[0], shards[1]])
        assertSameTables(merged.tables, whole.tables)
        XCTAssertEqual(merged.metrics.result().fvu, whole.metrics.result().fvu, accuracy: 1e-6)
        XCTAssertEqual(merged.metrics.result().tokenCount, 64)
        XCTAssertEqual(merged.provenance.shards, [0, 1, 2])
        XCTAssertThrowsError(try IndexMerger.merge([shards[0], shards[0]]))
    }

    /// A shard encodes the whole grid cells of one pass, so its values are one pass's bit for bit
    /// even under sgemm kernels that give a row other last bits at another place in the call
    /// (OpenBLAS 0.3.21's AVX2 Haswell kernels, selected here; the fp32 path, which uses the sgemm).
    func testShardsGiveOnePassValuesBitForBitUnderPositionDependentKernels() throws {
        let original = try XCTUnwrap(KernelFamily.named(BLASLibrary.current().core))
        try XCTSkipUnless(KernelSwitch.isAvailable && CPUFeatures.current.map(KernelFamily.haswell.isSupported) == true,
                          "needs an OpenBLAS that switches kernels in process and an AVX2 CPU")
        XCTAssertTrue(KernelSwitch.select(.haswell))
        let exact = SAEEncoder.exactFP32
        SAEEncoder.exactFP32 = true
        defer {
            SAEEncoder.exactFP32 = exact
            KernelSwitch.select(original)
        }
        let whole = try build(chunkRows: 8)
        let shards = try (0..<3).map { try build(chunkRows: 8, shard: ($0, 3)) }
        let merged = try IndexMerger.merge(shards)
        XCTAssertEqual(merged.tables.topValue, whole.tables.topValue)
        XCTAssertEqual(merged.tables.maxValue, whole.tables.maxValue)
        XCTAssertEqual(merged.tables.topRow, whole.tables.topRow)
        XCTAssertEqual(merged.tables.histogram, whole.tables.histogram)
    }

    func testFileRoundTripKeepsEverything() throws {
        let index = try build()
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("i.safetensors").path
        try IndexFile.write(index, to: path)
        let reopened = try IndexFile.read(path: path)
        assertSameTables(reopened.tables, index.tables)
        XCTAssertEqual(reopened.tables.topValue, index.tables.topValue)
        XCTAssertEqual(reopened.tables.sampleKey, index.tables.sampleKey)
        XCTAssertEqual(reopened.options, index.options)
        XCTAssertEqual(reopened.provenance, index.provenance)
        XCTAssertEqual(reopened.metrics.result(), index.metrics.result())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["i.safetensors"], "no temporary files left")
    }

    func testNonFiniteRowsAreLeftOut() throws {
        let index = try build(cache: "caches/with_nan.safetensors")
        XCTAssertEqual(index.metrics.result().tokenCount, 61)
        XCTAssertEqual(index.metrics.result().skippedCount, 3)
        for j in 0..<index.featureCount {
            XCTAssertFalse(index.topExemplars(j).contains { [3, 20, 40].contains($0.row) })
        }
    }

    func testMinimumActivationCountsSmallerValuesAsZero() throws {
        var options = referenceOptions()
        let sae = try DictionaryLoader.load(path: Fixtures.path("dictionaries/dl_autoencoder"))
        let cache = try ActivationCache(path: Fixtures.path("caches/tiny_f32.safetensors"))
        let plain = try FeatureIndexBuilder.build(sae: sae, saePath: "x", cache: cache, options: options)
        options.minActivation = 0.5
        let thresholded = try FeatureIndexBuilder.build(sae: sae, saePath: "x", cache: cache, options: options)
        var removed = 0
        for j in 0..<plain.featureCount {
            XCTAssertLessThanOrEqual(thresholded.tables.count[j], plain.tables.count[j])
            XCTAssertTrue(thresholded.topExemplars(j).allSatisfy { $0.value >= 0.5 })
            removed += Int(plain.tables.count[j] - thresholded.tables.count[j])
        }
        XCTAssertGreaterThan(removed, 0)
    }

    /// Exact for everything counted or chosen; floats to 1e-5 relative, since sgemm calls over
    /// different row blocks (shards) may round the last bit differently.
    private func assertSameTables(_ a: FeatureTables, _ b: FeatureTables, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        assertClose(a.maxValue, b.maxValue, file: file, line: line)
        XCTAssertEqual(a.rangeExponent, b.rangeExponent, file: file, line: line)
        XCTAssertEqual(a.histogram, b.histogram, file: file, line: line)
        XCTAssertEqual(a.topCount, b.topCount, file: file, line: line)
        XCTAssertEqual(a.topRow, b.topRow, file: file, line: line)
        assertClose(a.topValue, b.topValue, file: file, line: line)
        XCTAssertEqual(a.topTokens, b.topTokens, file: file, line: line)
        XCTAssertEqual(a.intervalCount, b.intervalCount, file: file, line: line)
        XCTAssertEqual(a.sampleCount, b.sampleCount, file: file, line: line)
        for j in 0..<a.featureCount {
            XCTAssertEqual(a.sum[j], b.sum[j], accuracy: 1e-5 * max(1, abs(b.sum[j])), file: file, line: line)
            for i in 0..<a.options.intervals {
                let cell = j * a.options.intervals + i, m = a.options.perInterval
                let rowsA = (0..<Int(a.sampleCount[cell])).map { a.sampleRow[cell * m + $0] }.sorted()
                let rowsB = (0..<Int(b.sampleCount[cell])).map { b.sampleRow[cell * m + $0] }.sorted()
                XCTAssertEqual(rowsA, rowsB, "samples of feature \(j) interval \(i)", file: file, line: line)
            }
        }
        XCTAssertEqual(a.topContext.map(\.isNaN), b.topContext.map(\.isNaN), "context outside sequences", file: file, line: line)
        assertClose(a.topContext.map { $0.isNaN ? 0 : $0 }, b.topContext.map { $0.isNaN ? 0 : $0 }, file: file, line: line)
    }

    private func assertClose(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-5, file: file, line: line)
    }
}

final class IndexStalenessTests: XCTestCase {
    func testAnIndexIsFreshUntilItsCacheChanges() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cachePath = directory.appendingPathComponent("acts.safetensors").path
        try FileManager.default.copyItem(atPath: Fixtures.path("caches/tiny_f32.safetensors"), toPath: cachePath)
        let sae = try DictionaryLoader.load(path: Fixtures.path("dictionaries/saelens_topk"))
        let index = try FeatureIndexBuilder.build(sae: sae, saePath: "saelens_topk", cache: try ActivationCache(path: cachePath),
                                                  options: FeatureIndexOptions())
        XCTAssertNil(index.provenance.staleness(sae: sae, cache: try ActivationCache(path: cachePath)))

        // Same size, new content and a later modification time: the index no longer describes it.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: cachePath))
        bytes[bytes.count - 1] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: cachePath))
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: cachePath)
        let reason = index.provenance.staleness(sae: sae, cache: try ActivationCache(path: cachePath))
        XCTAssertEqual(reason, "the activation cache \(cachePath) changed since the index was built")
    }
}
