import XCTest
@testable import SAECore

/// The index's SAEBench core statistics: the same from shards merged as from one pass, the same
/// as eval's, kept by the file, optional in it (older files load without them), and
/// `--exclude-special` indexes are variants of their own.
final class IndexCoreStatisticsTests: XCTestCase {
    private func inputs() throws -> (SparseAutoencoder, ActivationCache) {
        (try DictionaryLoader.load(path: Fixtures.path("dictionaries/saelens_topk")),
         try ActivationCache(path: Fixtures.path("caches/tiny_f32.safetensors")))
    }

    func testShardsMergeToOnePassAndMatchEval() throws {
        let (sae, cache) = try inputs()
        var options = FeatureIndexOptions()
        options.excludeSpecial = true
        let one = try ProgressiveIndexer.build(sae: sae, saePath: "sae", cache: cache, options: options, steps: 1)
        var three = try ProgressiveIndexer.build(sae: sae, saePath: "sae", cache: cache, options: options, steps: 3)
        try three.attachWeightMetrics(sae)  // as `saescope index` does (the interface leaves them to its own job)
        let a = try XCTUnwrap(one.coreStatistics), b = try XCTUnwrap(three.coreStatistics)
        XCTAssertEqual(a.sequences.tokens, b.sequences.tokens)
        XCTAssertEqual(a.sequences.sequences, b.sequences.sequences)
        XCTAssertEqual(a.positions.count, b.positions.count)
        XCTAssertEqual(a.excludedRows, 5)
        XCTAssertEqual(b.excludedRows, 5)
        XCTAssertNotNil(three.coreStatistics?.weights)
        let pass = try DictionaryEvaluator.run(sae, cache: cache, options: .init(exclusion: try SpecialTokenExclusion.forCache(cache)))
        let eval = CoreMetrics(fireCounts: pass.metrics.featureFireCounts!, tokens: pass.metrics.tokenCount,
                               projectionScale: pass.metrics.projectionScale, weights: try WeightMetrics(sae: sae), sequences: pass.sequences)
        for definition in CoreMetrics.definitions {
            let got = definition.value(try XCTUnwrap(three.coreMetrics)), want = definition.value(eval)
            XCTAssertEqual(got, want, accuracy: 1e-12 * max(abs(want), 1), definition.key)
        }
    }

    func testTheFileKeepsThemAndOlderFilesLoadWithout() throws {
        let (sae, cache) = try inputs()
        let folder = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var index = try ProgressiveIndexer.build(sae: sae, saePath: "sae", cache: cache, options: FeatureIndexOptions(), steps: 1)
        try index.attachWeightMetrics(sae)
        let path = folder.appendingPathComponent("with.safetensors").path
        try IndexFile.write(index, to: path)
        let read = try IndexFile.read(path: path)
        XCTAssertEqual(read.coreStatistics?.sequences.sequences, index.coreStatistics?.sequences.sequences)
        XCTAssertEqual(read.coreStatistics?.weights, index.coreStatistics?.weights)
        XCTAssertNil(read.coreStatistics?.excludedRows)
        XCTAssertEqual(read.coreMetrics?.averageMaxDecoderCosineSim, index.coreMetrics?.averageMaxDecoderCosineSim)
        index.coreStatistics = nil
        let older = folder.appendingPathComponent("older.safetensors").path
        try IndexFile.write(index, to: older)
        let loaded = try IndexFile.read(path: older)
        XCTAssertNil(loaded.coreStatistics)
        XCTAssertNil(loaded.coreMetrics)
        XCTAssertNil(loaded.options.excludeSpecial)
    }

    func testExcludeSpecialIsASettingOfItsOwn() {
        var options = FeatureIndexOptions()
        options.excludeSpecial = true
        XCTAssertEqual(options.settingsWords, ["exclude-special"])
        XCTAssertFalse(options.isCompatible(with: FeatureIndexOptions()))
        XCTAssertEqual(IndexLocation.variant(of: "/c/x.index.safetensors", options: options, baseIsDefault: true),
                       "/c/x.exclude-special.index.safetensors")
        XCTAssertEqual(PositionBucket.of(31), 31)
        XCTAssertEqual(PositionBucket.of(32), 32)
        XCTAssertEqual(PositionBucket.of(63), 32)
        XCTAssertEqual(PositionBucket.of(64), 33)
        XCTAssertEqual(PositionBucket.positions(34), 128...255)
    }
}
