import XCTest
@testable import SAECore

/// Every dictionary fixture was written by the real library (tools/fixtures/make_dictionary_fixtures.py),
/// and its reference codes, reconstructions and metrics were computed by that library's own loader
/// and encode/decode, with numpy in float64 for the metrics. Tolerance: 1e-5 relative to the
/// largest magnitude of each reference tensor (float32 sums in a different order differ by ~1e-7).
final class LibraryReferenceTests: XCTestCase {
    static let dictionaries = [
        "dl_autoencoder", "dl_autoencoder_new", "dl_gated", "dl_jumprelu", "dl_topk", "dl_batchtopk", "dl_matryoshka",
        "saelens_standard", "saelens_standard_no_bdec", "saelens_topk", "saelens_jumprelu", "saelens_gated",
        "saelens_scaled", "saelens_pre6", "sparsify_topk", "sparsify_topk_bf16", "gemma_scope_f32", "gemma_scope_bf16",
    ]

    func testEncodeAndDecodeMatchTheLibraries() throws {
        let cache = try ActivationCache(path: Fixtures.path("caches/tiny_f32.safetensors"))
        var x = [Float](repeating: 0, count: cache.rowCount * cache.dimension)
        x.withUnsafeMutableBufferPointer { cache.readRows(0..<cache.rowCount, into: $0.baseAddress!) }
        for name in Self.dictionaries {
            let sae = try DictionaryLoader.load(path: Fixtures.path("dictionaries/\(name)"))
            let reference = try Safetensors.read(path: Fixtures.path("reference/\(name).safetensors"))
            let encoder = SAEEncoder(sae: sae, maxRows: cache.rowCount)
            x.withUnsafeBufferPointer { encoder.run($0.baseAddress!, rows: cache.rowCount, reconstruct: true) }
            assertClose(Array(encoder.codes), try reference.require("f").floats(), "\(name) f")
            assertClose(Array(encoder.reconstruction), try reference.require("x_hat").floats(), "\(name) x_hat")
        }
    }

    func testMetricsMatchNumpy() throws {
        let cache = try ActivationCache(path: Fixtures.path("caches/tiny_f32.safetensors"))
        for name in Self.dictionaries {
            let sae = try DictionaryLoader.load(path: Fixtures.path("dictionaries/\(name)"))
            let metrics = try DictionaryEvaluator.evaluate(sae, cache: cache)
            try assertMetrics(metrics, referencePath: Fixtures.path("reference/\(name).json"), name)
        }
    }

    /// Transcoders written by SAELens 6.54.12 and sparsify 1.3.3 (tools/fixtures/make_transcoder_fixtures.py),
    /// each with the cache whose `targets` it reconstructs: codes from the library's encode, x_hat
    /// from its forward (skip term included), metrics in float64 numpy against the targets.
    static let transcoders = [
        ("saelens_transcoder", "tiny_targets_d12"), ("saelens_skip_transcoder", "tiny_targets_d12"),
        ("saelens_jumprelu_transcoder", "tiny_targets_d12"), ("saelens_jumprelu_skip_transcoder", "tiny_targets_d12"),
        ("sparsify_transcoder", "tiny_targets_d16"),
    ]

    func testTranscodersMatchTheLibraries() throws {
        for (name, cacheName) in Self.transcoders {
            let cache = try ActivationCache(path: Fixtures.path("caches/\(cacheName).safetensors"))
            let sae = try DictionaryLoader.load(path: Fixtures.path("dictionaries/\(name)"))
            XCTAssertTrue(sae.isTranscoder, name)
            XCTAssertEqual(sae.outputDimension, cache.targetDimension, name)
            var x = [Float](repeating: 0, count: cache.rowCount * cache.dimension)
            x.withUnsafeMutableBufferPointer { cache.readRows(0..<cache.rowCount, into: $0.baseAddress!) }
            let reference = try Safetensors.read(path: Fixtures.path("reference/\(name).safetensors"))
            let encoder = SAEEncoder(sae: sae, maxRows: cache.rowCount)
            x.withUnsafeBufferPointer { encoder.run($0.baseAddress!, rows: cache.rowCount, reconstruct: true) }
            assertClose(Array(encoder.codes), try reference.require("f").floats(), "\(name) f")
            assertClose(Array(encoder.reconstruction), try reference.require("x_hat").floats(), "\(name) x_hat")
            let metrics = try DictionaryEvaluator.evaluate(sae, cache: cache)
            try assertMetrics(metrics, referencePath: Fixtures.path("reference/\(name).json"), name)
        }
    }

    func testNonFiniteRowsAreSkippedAndCounted() throws {
        let cache = try ActivationCache(path: Fixtures.path("caches/with_nan.safetensors"))
        let sae = try DictionaryLoader.load(path: Fixtures.path("dictionaries/dl_autoencoder"))
        let metrics = try DictionaryEvaluator.evaluate(sae, cache: cache)
        try assertMetrics(metrics, referencePath: Fixtures.path("reference/with_nan_dl_autoencoder.json"), "with_nan")
    }

    private func assertMetrics(_ metrics: DictionaryMetrics, referencePath: String, _ name: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let reference = try JSONConfig.read(path: referencePath)
        for definition in MetricDefinition.all {
            guard let expected = try reference.double(definition.key) else {
                XCTFail("\(name): reference lacks \(definition.key)", file: file, line: line)
                continue
            }
            let actual = definition.value(metrics)
            XCTAssertEqual(actual, expected, accuracy: 1e-5 * max(1, abs(expected)), "\(name) \(definition.key)", file: file, line: line)
        }
        XCTAssertEqual(metrics.tokenCount, try reference.int("n_tokens"), "\(name) n_tokens", file: file, line: line)
        XCTAssertEqual(metrics.skippedCount, try reference.int("n_skipped"), "\(name) n_skipped", file: file, line: line)
    }

    private func assertClose(_ actual: [Float], _ expected: [Float], _ label: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, label, file: file, line: line)
        let scale = max(expected.map { abs($0) }.max() ?? 1, 1e-6)
        var worst: Float = 0, worstIndex = 0
        for i in 0..<min(actual.count, expected.count) where abs(actual[i] - expected[i]) > worst {
            worst = abs(actual[i] - expected[i])
            worstIndex = i
        }
        XCTAssertLessThanOrEqual(worst / scale, 1e-5, "\(label): worst relative error at \(worstIndex): \(actual[worstIndex]) vs \(expected[worstIndex])", file: file, line: line)
    }
}
