import CKernels
import XCTest
@testable import SAECore

/// The index of each bundled sample dictionary over the sample cache, built with the screened
/// encode (int8 and bf16, each where the CPU has it) and with `--exact-fp32`: every count, sum (to fp32 rounding), histogram bin and top
/// exemplar row agree.
final class ScreenedIndexAgreementTests: XCTestCase {
    override func tearDown() {
        ScreenPrecision.restriction = nil
        SAEEncoder.exactFP32 = ProcessInfo.processInfo.environment["SAESCOPE_EXACT_FP32"] == "1"
    }

    private func build(_ sae: SparseAutoencoder, _ cache: ActivationCache, exact: Bool) throws -> (FeatureIndex, EncodePath) {
        SAEEncoder.exactFP32 = exact
        defer { SAEEncoder.exactFP32 = false }
        let index = try FeatureIndexBuilder.build(sae: sae, saePath: "sample", cache: cache, options: FeatureIndexOptions())
        return (index, EncodePath.chosen(for: sae))
    }

    private func screenedStatistics(_ sae: SparseAutoencoder, _ cache: ActivationCache) -> ScreenedEncodeStatistics {
        let chunk = SAEEncoder.suggestedChunkRows(featureCount: sae.featureCount)
        let encoder = SAEEncoder(sae: sae, maxRows: chunk)
        var rows = [Float](repeating: 0, count: chunk * sae.inputDimension)
        var start = 0
        while start < cache.rowCount {
            let count = min(chunk, cache.rowCount - start)
            rows.withUnsafeMutableBufferPointer { rows in
                cache.readRows(start..<start + count, into: rows.baseAddress!)
                encoder.run(rows.baseAddress!, rows: count, reconstruct: false)
            }
            start += count
        }
        return encoder.screenedStatistics
    }

    func testSampleDictionariesIndexTheSameWithEitherPath() throws {
        let precisions = [ScreenPrecision.int8, .bf16].filter(\.available)
        guard !precisions.isEmpty else { throw XCTSkip("the CPU has neither AVX512_VNNI nor AVX512_BF16: only the fp32 path runs") }
        let cache = try ActivationCache(path: SampleTests.path("activations/smollm2_l15_pride_and_prejudice.safetensors"))
        let savedFraction = ScreenedChunk.fallbackFraction
        defer { ScreenedChunk.fallbackFraction = savedFraction }
        for precision in precisions {
        ScreenPrecision.restriction = precision
        // Top-k runs in bf16 by default: int8's candidates there exceed the fallback limit, so it
        // is lifted to compare int8's top-k screen too.
        ScreenedChunk.fallbackFraction = precision == .int8 ? 1 : savedFraction
        for name in ["dictionaries/dictionary_learning/trainer_0", "dictionaries/dictionary_learning/trainer_1", "dictionaries/saelens_topk"] {
            let relative = "\(name) (\(precision))"
            let sae = try DictionaryLoader.load(path: SampleTests.path(name))
            let (screened, path) = try build(sae, cache, exact: false)
            let (fp32, fp32Path) = try build(sae, cache, exact: true)
            XCTAssertEqual(path, .screened(precision), relative)
            XCTAssertEqual(fp32Path, .fp32(reason: "--exact-fp32"), relative)
            let a = screened.tables, b = fp32.tables
            XCTAssertEqual(a.count, b.count, "\(relative): counts")
            XCTAssertEqual(a.rangeExponent, b.rangeExponent, "\(relative): histogram ranges")
            XCTAssertEqual(a.topCount, b.topCount, "\(relative): top exemplar counts")
            XCTAssertEqual(a.intervalCount.reduce(0, +), b.intervalCount.reduce(0, +), "\(relative): interval counts")
            // Values differ between the paths in their last bits (the fp32 path's sgemm and the
            // candidates' dot products sum in different orders, each within gamma_D |x| |w_j| of the
            // exact value), so an activation on a histogram bin's edge, or two exemplars of almost
            // equal value, may land differently: ties. Everything else is equal.
            let activations = b.count.reduce(0, +)
            var moved: Int64 = 0
            for cell in 0..<a.histogram.count { moved += abs(a.histogram[cell] - b.histogram[cell]) }
            XCTAssertLessThanOrEqual(Double(moved) / 2, 1e-4 * Double(activations), "\(relative): histogram moves (ties)")
            let k = a.options.topK
            var swapped = 0
            for j in 0..<a.featureCount {
                let scale = Double(max(b.maxValue[j], 1e-3))
                for slot in 0..<Int(a.topCount[j]) where a.topRow[j * k + slot] != b.topRow[j * k + slot] {
                    swapped += 1
                    // A different exemplar only where the two candidates' values are tied to fp32 precision.
                    XCTAssertEqual(Double(a.topValue[j * k + slot]), Double(b.topValue[j * k + slot]), accuracy: 1e-4 * scale,
                                   "\(relative): feature \(j) exemplar \(slot)")
                }
                XCTAssertEqual(a.sum[j], b.sum[j], accuracy: 1e-4 * max(1, abs(b.sum[j])), "\(relative): sum of feature \(j)")
                XCTAssertEqual(a.maxValue[j], b.maxValue[j], accuracy: 1e-4 * max(1, abs(b.maxValue[j])), "\(relative): max of feature \(j)")
            }
            // The screen really ran on these dictionaries: no chunk fell back.
            let statistics = screenedStatistics(sae, cache)
            XCTAssertEqual(statistics.fallbackChunks, 0, relative)
            XCTAssertGreaterThan(statistics.screenedChunks, 0, relative)
            let fractions = statistics.candidateFractions
            print("\(relative): candidates per chunk \(fractions.min()! * 100)% to \(fractions.max()! * 100)%")
            print("\(relative): \(activations) activations, \(moved / 2) histogram moves, \(swapped) exemplar swaps between the paths")
            XCTAssertEqual(screened.tokenCount, fp32.tokenCount)
        }
        }
    }
}
