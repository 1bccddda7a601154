import Foundation
import XCTest
@testable import SAECore

/// Seeded property tests of the two new untrusted inputs: a cache's `targets` and a transcoder's
/// tensors and config. Every random file must either load into shapes that agree (then reading
/// every target row, and encoding and decoding a row, stay inside the buffers and give finite
/// values for finite weights) or throw a `SaescopeError` naming the file, never trap.
final class TranscoderFuzzTests: XCTestCase {
    static let dtypes: [DType] = [.float32, .float16, .bfloat16, .float64, .int64, .int32, .uint8]

    static func entry(_ name: String, _ dtype: DType, _ shape: [Int], rng: inout SplitMix64) -> Safetensors.Entry {
        let count = shape.reduce(1, *) * dtype.byteSize
        // Small values in any float width: random low bytes, zero high bytes.
        let data = (0..<count).map { index -> UInt8 in index % dtype.byteSize == 0 ? UInt8(rng.next() % 64) : 0 }
        return .init(name: name, dtype: dtype, shape: shape, data: data)
    }

    static func shape(around dimensions: [Int], rng: inout SplitMix64) -> [Int] {
        switch rng.next() % 6 {
        case 0: return []
        case 1: return [dimensions.reduce(1, *)]
        case 2: return dimensions.reversed()
        case 3: return dimensions.map { $0 + Int(rng.next() % 3) - 1 }.map { max(0, $0) }
        default: return dimensions
        }
    }

    func testRandomTargetsEitherAgreeWithActsOrAreRefused() throws {
        var rng = SplitMix64(seed: 0x7A26_E75)
        let folder = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var opened = 0, refused = 0
        for round in 0..<400 {
            let rows = Int(rng.next() % 5) + 1, d = Int(rng.next() % 4) + 1, dOut = Int(rng.next() % 4) + 1
            let dtype = rng.next() % 3 == 0 ? Self.dtypes[Int(rng.next() % UInt64(Self.dtypes.count))] : .float32
            let entries = [Self.entry("acts", .float32, [rows, d], rng: &rng),
                           Self.entry("targets", dtype, Self.shape(around: [rows, dOut], rng: &rng), rng: &rng)]
            let path = folder.appendingPathComponent("cache-\(round).safetensors").path
            try Safetensors.write(entries, to: path)
            do {
                let cache = try ActivationCache(path: path)
                let width = try XCTUnwrap(cache.targetDimension, "round \(round)")
                XCTAssertEqual(cache.shards[0].targets?.shape, [cache.rowCount, width], "round \(round)")
                var buffer = [Float](repeating: .nan, count: cache.rowCount * width)
                buffer.withUnsafeMutableBufferPointer { cache.readTargetRows(0..<cache.rowCount, into: $0.baseAddress!) }
                XCTAssertTrue(buffer.allSatisfy(\.isFinite), "round \(round)")
                opened += 1
            } catch let error as SaescopeError {
                XCTAssertTrue(error.description.contains(path), "round \(round): \(error)")
                refused += 1
            }
        }
        XCTAssertGreaterThan(opened, 100)
        XCTAssertGreaterThan(refused, 100)
    }

    func testRandomTranscoderFilesEitherLoadConsistentlyOrAreRefused() throws {
        var rng = SplitMix64(seed: 0x5C1B_7C0D)
        let folder = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let architectures = SAELensTranscoderLoader.architectures + ["standard"]
        var loaded = 0, refused = 0
        for round in 0..<400 {
            let d = Int(rng.next() % 3) + 1, dOut = Int(rng.next() % 3) + 1, f = Int(rng.next() % 4) + 1
            let architecture = architectures[Int(rng.next() % UInt64(architectures.count))]
            func wobble(_ value: Int) -> Any { rng.next() % 8 == 0 ? [0, -1, value + 1, 1 << 62][Int(rng.next() % 4)] : value }
            let config: [String: Any] = ["architecture": architecture, "d_in": wobble(d), "d_out": wobble(dOut), "d_sae": wobble(f),
                                         "apply_b_dec_to_input": rng.next() % 10 == 0,
                                         "metadata": ["sae_lens_version": "6.54.12"]]
            var entries: [Safetensors.Entry] = []
            for (name, dimensions) in [("W_enc", [d, f]), ("b_enc", [f]), ("W_dec", [f, dOut]), ("b_dec", [dOut]),
                                       ("threshold", [f]), ("W_skip", [dOut, d])] where rng.next() % 12 != 0 {
                let dtype: DType = rng.next() % 10 == 0 ? .float16 : .float32
                let shape = rng.next() % 4 == 0 ? Self.shape(around: dimensions, rng: &rng) : dimensions
                entries.append(Self.entry(name, dtype, shape, rng: &rng))
            }
            let directory = folder.appendingPathComponent("t\(round)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("cfg.json"))
            try Safetensors.write(entries, to: directory.appendingPathComponent("sae_weights.safetensors").path)
            do {
                let sae = try DictionaryLoader.load(path: directory.path)
                XCTAssertEqual(sae.decoderWeights.count, sae.featureCount * sae.outputDimension, "round \(round)")
                XCTAssertEqual(sae.skipWeights.map { $0.count } ?? sae.inputDimension * sae.outputDimension,
                               sae.inputDimension * sae.outputDimension, "round \(round)")
                let encoder = SAEEncoder(sae: sae, maxRows: 2)
                let x = [Float](repeating: 0.5, count: 2 * sae.inputDimension)
                x.withUnsafeBufferPointer { encoder.run($0.baseAddress!, rows: 2, reconstruct: true) }
                XCTAssertEqual(encoder.reconstruction.count, 2 * sae.outputDimension, "round \(round)")
                XCTAssertTrue(encoder.reconstruction.allSatisfy(\.isFinite), "round \(round)")
                loaded += 1
            } catch let error as SaescopeError {
                XCTAssertTrue(error.description.contains(directory.path), "round \(round): \(error)")
                refused += 1
            }
        }
        XCTAssertGreaterThan(loaded, 25)
        XCTAssertGreaterThan(refused, 100)
    }
}
