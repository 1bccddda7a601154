import XCTest
@testable import SAECore

/// An index built from a delphi latent cache (tools/fixtures/make_delphi_fixtures.py follows
/// delphi's save_splits) equals, table for table, the index built by encoding the same
/// dictionary over the same activations: the fixture's codes are float16-exact, so delphi's
/// float16 storage loses nothing and every count, histogram, exemplar row and context must match.
final class DelphiCodesIndexTests: XCTestCase {
    let dictionary = Fixtures.path("delphi/dictionary")
    let run = Fixtures.path("delphi/run")

    private func tablesOf(_ index: FeatureIndex) throws -> TensorDictionary {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("index.safetensors").path
        try IndexFile.write(index, to: path)
        // Copy the bytes out: the map goes away with the directory.
        let file = try Safetensors.read(path: path)
        var copied: [String: Tensor] = [:]
        for (name, tensor) in file.tensors {
            let buffer = ByteBuffer(copying: tensor.rawBytes)
            copied[name] = try Tensor(dtype: tensor.dtype, shape: tensor.shape, buffer: buffer, byteOffset: 0)
        }
        return TensorDictionary(tensors: copied, source: path)
    }

    /// Every table byte for byte; with `samplesAsSets`, interval samples only as the set of rows
    /// per cell (a merge keeps the same samples in another slot order, as FeatureIndexTests checks).
    private func assertSameTables(_ a: FeatureIndex, _ b: FeatureIndex, _ label: String, samplesAsSets: Bool = false,
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(a.tokenCount, b.tokenCount, label, file: file, line: line)
        let ta = try tablesOf(a), tb = try tablesOf(b)
        // The core statistics (position buckets) need the activations: only an encoded index has them.
        func tables(_ t: TensorDictionary) -> Set<String> { Set(t.tensors.keys.filter { !$0.hasPrefix("core_") }) }
        XCTAssertEqual(tables(ta), tables(tb), label, file: file, line: line)
        var compared = 0
        for name in tables(ta).sorted() where !name.hasPrefix("metric_") {
            if samplesAsSets, ["sample_context_acts", "sample_context_tokens", "sample_key", "sample_row", "sample_value"].contains(name) { continue }
            let x = ta.tensors[name]!, y = tb.tensors[name]!
            XCTAssertEqual(x.shape, y.shape, "\(label) \(name)", file: file, line: line)
            XCTAssertTrue(x.rawBytes.elementsEqual(y.rawBytes), "\(label): table \(name) differs", file: file, line: line)
            compared += 1
        }
        XCTAssertEqual(compared, samplesAsSets ? 12 : 17, label, file: file, line: line)
        if samplesAsSets {
            let n = a.options.intervals, m = a.options.perInterval
            for cell in 0..<(a.featureCount * n) {
                let rowsA = (0..<Int(a.tables.sampleCount[cell])).map { a.tables.sampleRow[cell * m + $0] }.sorted()
                let rowsB = (0..<Int(b.tables.sampleCount[cell])).map { b.tables.sampleRow[cell * m + $0] }.sorted()
                XCTAssertEqual(rowsA, rowsB, "\(label): samples of cell \(cell)", file: file, line: line)
            }
        }
        // L0 and L1 come from the codes alone.
        XCTAssertEqual(a.metrics.result().l0, b.metrics.result().l0, accuracy: 1e-12, label, file: file, line: line)
        XCTAssertEqual(a.metrics.result().l1, b.metrics.result().l1, accuracy: 1e-9, label, file: file, line: line)
    }

    func testCodesIndexEqualsEncodedIndexForAnyPassSize() throws {
        let sae = try DictionaryLoader.load(path: dictionary)
        let cache = try ActivationCache(path: Fixtures.path("delphi/acts.safetensors"))
        let codes = try DelphiLatentCache(path: run)
        XCTAssertEqual(codes.width, 32)
        XCTAssertEqual(codes.splits.map(\.latents), [0..<6, 6..<12, 12..<19, 19..<25, 25..<32])
        XCTAssertEqual(codes.splits[0].locations.dtype, .uint16)
        var options = FeatureIndexOptions()
        options.topK = 4
        options.context = 3
        options.intervals = 4
        options.perInterval = 2
        options.bins = 8
        let reference = try FeatureIndexBuilder.build(sae: sae, saePath: dictionary, cache: cache, options: options, chunkRows: 64)
        XCTAssertEqual(reference.tokenCount, 384)
        XCTAssertGreaterThan(reference.tables.count.reduce(0, +), 1000)
        for passEntries in [1, 7, 16, 100, 5000] {
            let fromCodes = try FeatureIndexBuilder.build(codes: codes, sae: nil, saePath: nil, options: options, passEntries: passEntries)
            try assertSameTables(reference, fromCodes, "passes of \(passEntries) entries")
            XCTAssertEqual(fromCodes.inputDimension, 0)
            XCTAssertTrue(fromCodes.metrics.result().mse.isNaN, "no reconstruction metrics without activations")
        }
        let withDictionary = try FeatureIndexBuilder.build(codes: codes, sae: sae, saePath: dictionary, options: options)
        XCTAssertEqual(withDictionary.inputDimension, 16)
        try assertSameTables(reference, withDictionary, "with --sae")

        // --min-act at the mean code: about half of every list is left out of the recorded tables
        // (the copy-and-filter path of the lists and the minimum test in ck_code_sums).
        options.minActivation = Float(reference.tables.sum.reduce(0, +) / Double(reference.tables.count.reduce(0, +)))
        let filtered = try FeatureIndexBuilder.build(sae: sae, saePath: dictionary, cache: cache, options: options, chunkRows: 64)
        let kept = filtered.tables.count.reduce(0, +)
        XCTAssertTrue(kept > 0 && kept < reference.tables.count.reduce(0, +), "the minimum leaves some codes out: \(kept)")
        for passEntries in [1, 7, 5000] {
            let fromCodes = try FeatureIndexBuilder.build(codes: codes, sae: nil, saePath: nil, options: options, passEntries: passEntries)
            try assertSameTables(filtered, fromCodes, "--min-act \(options.minActivation), passes of \(passEntries) entries")
        }
    }

    func testShardsOfTheCodesMergeToOnePass() throws {
        let codes = try DelphiLatentCache(path: run)
        var options = FeatureIndexOptions()
        options.topK = 5
        let whole = try FeatureIndexBuilder.build(codes: codes, sae: nil, saePath: nil, options: options)
        var parts: [FeatureIndex] = []
        for shard in 0..<3 {
            options.shardIndex = shard
            options.shardCount = 3
            parts.append(try FeatureIndexBuilder.build(codes: codes, sae: nil, saePath: nil, options: options, passEntries: 10))
        }
        try assertSameTables(whole, try IndexMerger.merge(parts), "merged shards", samplesAsSets: true)
    }

    func testIndexFromCodesRoundTripsThroughTheFile() throws {
        let codes = try DelphiLatentCache(path: run)
        let index = try FeatureIndexBuilder.build(codes: codes, sae: nil, saePath: nil, options: FeatureIndexOptions())
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("codes.safetensors").path
        try IndexFile.write(index, to: path)
        let read = try IndexFile.read(path: path)
        XCTAssertEqual(read.tokenCount, 384)
        XCTAssertEqual(read.inputDimension, 0)
        XCTAssertEqual(read.provenance.cacheMetadata["model_name"], "synthetic")
        XCTAssertEqual(read.provenance.cacheMetadata["model"], "synthetic")
        XCTAssertEqual(read.provenance.cacheMetadata["hook"], "layers.3")
        // Neuronpedia's prompt counts come from the codes' token matrix: 24 sequences of 16.
        let counts = try NeuronpediaSource.promptCounts(read)
        XCTAssertEqual(counts.count, 24)
        XCTAssertEqual(counts.longest, 16)
        XCTAssertEqual(Array(read.tables.count), Array(index.tables.count))
    }

    /// Rewrites every split of a copy of the fixture with `rewrite(locations)` as `dtype`, and the
    /// activations as float16, float32 or bfloat16 (the fixture's codes are float16-exact; with
    /// `truncatedToBFloat16` they are cut to bfloat16's 8 mantissa bits first, exactly as
    /// a bfloat16 file holds them, so a float32 file can carry the same codes).
    private func rewrittenCopy(_ dtype: DType, activations activationType: DType = .float16, truncatedToBFloat16: Bool = false,
                               _ rewrite: ([Int64]) -> [Int64]) throws -> URL {
        let directory = Fixtures.temporaryDirectory().appendingPathComponent("layers.3")
        try FileManager.default.copyItem(atPath: Fixtures.path("delphi/run/latents/layers.3"), toPath: directory.path)
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".safetensors") {
            let path = directory.appendingPathComponent(name).path
            let split = try Safetensors.read(path: path)
            let activations = try split.require("activations"), tokens = try split.require("tokens")
            let locations = rewrite(try split.require("locations").int64s())
            let halfBits = Array(activations.rawBytes.bindMemory(to: UInt16.self))
            let shape = [locations.count / 3, 3]
            let entry: Safetensors.ArrayEntry = switch dtype {
            case .uint32: .init("locations", .uint32, shape, locations.map { UInt32($0) })
            case .int32: .init("locations", .int32, shape, locations.map { Int32($0) })
            case .int64: .init("locations", .int64, shape, locations)
            default: .init("locations", .uint16, shape, locations.map { UInt16($0) })
            }
            let floats = halfBits.map { bits -> Float in
                let value = floatFromHalf(bits: bits)
                return truncatedToBFloat16 ? Float(bitPattern: value.bitPattern & 0xFFFF_0000) : value
            }
            let values: Safetensors.ArrayEntry = switch activationType {
            case .float32: .init("activations", .float32, activations.shape, floats)
            case .bfloat16: .init("activations", .bfloat16, activations.shape, floats.map { UInt16($0.bitPattern >> 16) })
            default: .init("activations", .float16, activations.shape, halfBits)
            }
            try Safetensors.write(arrays: [entry, values,
                                           .init("tokens", .int64, tokens.shape, try tokens.int64s())], metadata: [:], to: path)
        }
        return directory
    }

    func testUInt32LocationsGiveTheSameIndex() throws {
        let directory = try rewrittenCopy(.uint32) { $0 }
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let wide = try DelphiLatentCache(path: directory.path)
        XCTAssertEqual(wide.splits[0].locations.dtype, .uint32)
        let options = FeatureIndexOptions()
        try assertSameTables(try FeatureIndexBuilder.build(codes: try DelphiLatentCache(path: run), sae: nil, saePath: nil, options: options),
                             try FeatureIndexBuilder.build(codes: wide, sae: nil, saePath: nil, options: options, passEntries: 9), "uint32")
    }

    /// The other column types delphi's readers accept (int64 locations, float32 activations) take
    /// the C passes' other loops; the codes are the same, so the index is too.
    func testInt64LocationsAndFloat32ActivationsGiveTheSameIndex() throws {
        let directory = try rewrittenCopy(.int64, activations: .float32) { $0 }
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let wide = try DelphiLatentCache(path: directory.path)
        XCTAssertEqual(wide.splits[0].locations.dtype, .int64)
        XCTAssertEqual(wide.splits[0].activations.dtype, .float32)
        var options = FeatureIndexOptions()
        options.context = 2
        try assertSameTables(try FeatureIndexBuilder.build(codes: try DelphiLatentCache(path: run), sae: nil, saePath: nil, options: options),
                             try FeatureIndexBuilder.build(codes: wide, sae: nil, saePath: nil, options: options), "int64 + float32")
    }

    /// int32 locations and bfloat16 activations (accepted, though delphi's save_splits writes only
    /// uint16/uint32 and float16) take the C passes' last two loops: the index equals the one of
    /// the same codes as uint16 locations and float32 activations.
    func testInt32LocationsAndBFloat16ActivationsGiveTheSameIndex() throws {
        let narrow = try rewrittenCopy(.int32, activations: .bfloat16, truncatedToBFloat16: true) { $0 }
        defer { try? FileManager.default.removeItem(at: narrow.deletingLastPathComponent()) }
        let wide = try rewrittenCopy(.uint16, activations: .float32, truncatedToBFloat16: true) { $0 }
        defer { try? FileManager.default.removeItem(at: wide.deletingLastPathComponent()) }
        let bf16 = try DelphiLatentCache(path: narrow.path), f32 = try DelphiLatentCache(path: wide.path)
        XCTAssertEqual(bf16.splits[0].locations.dtype, .int32)
        XCTAssertEqual(bf16.splits[0].activations.dtype, .bfloat16)
        var options = FeatureIndexOptions()
        options.context = 2
        let fromBF16 = try FeatureIndexBuilder.build(codes: bf16, sae: nil, saePath: nil, options: options, passEntries: 11)
        let fromF32 = try FeatureIndexBuilder.build(codes: f32, sae: nil, saePath: nil, options: options)
        try assertSameTables(fromF32, fromBF16, "int32 + bfloat16")
        // The truncation changed the codes (so a bfloat16 read as float16 would not pass).
        let original = try FeatureIndexBuilder.build(codes: try DelphiLatentCache(path: run), sae: nil, saePath: nil, options: options)
        XCTAssertNotEqual(Array(original.tables.sum), Array(fromBF16.tables.sum))
    }

    /// A split wider than the scatter's staging (65,536 latents, delphi's uint32 case) takes the
    /// direct stores; grouped in passes of a few latents it takes the staged ones: same index.
    func testSplitOfMoreLatentsThanTheStagingGivesTheSameIndexInOneOrManyPasses() throws {
        let directory = Fixtures.temporaryDirectory().appendingPathComponent("layers.0")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let width = 70_000, sequences = 6, ctx = 20
        var locations: [UInt32] = [], values: [UInt16] = []
        var state: UInt64 = 12345
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 17
        }
        for b in 0..<sequences {
            for p in 0..<ctx {
                // 24 latents per token, some in the first few (long lists), most anywhere (short ones).
                let latents = Set((0..<24).map { i in i < 4 ? Int(next() % 8) : Int(next() % UInt64(width)) }).sorted()
                for latent in latents {
                    locations += [UInt32(b), UInt32(p), UInt32(latent)]
                    values.append(Float16(Float(next() % 4000 + 1) / 256).bitPattern)
                }
            }
        }
        let tokens = (0..<(sequences * ctx)).map { Int64($0 * 7 % 1000) }
        try Safetensors.write(arrays: [
            .init("locations", .uint32, [values.count, 3], locations),
            .init("activations", .float16, [values.count], values),
            .init("tokens", .int64, [sequences, ctx], tokens),
        ], metadata: [:], to: directory.appendingPathComponent("0_\(width - 1).safetensors").path)
        let codes = try DelphiLatentCache(path: directory.path)
        XCTAssertEqual(codes.width, width)
        // Small tables per feature: 70,000 features of the default ones take seconds in a debug build.
        var options = FeatureIndexOptions()
        options.topK = 3
        options.context = 2
        options.bins = 4
        options.intervals = 2
        options.perInterval = 2
        let direct = try FeatureIndexBuilder.build(codes: codes, sae: nil, saePath: nil, options: options, passEntries: values.count)
        XCTAssertEqual(direct.tables.count.reduce(0, +), Int64(values.count))
        XCTAssertEqual(direct.tables.count[0...7].reduce(0, +) > Int64(sequences * ctx), true, "long lists in the first latents")
        let staged = try FeatureIndexBuilder.build(codes: codes, sae: nil, saePath: nil, options: options, passEntries: 300)
        try assertSameTables(direct, staged, "one pass of \(width) latents against passes of 300 entries")
    }

    func testOutOfOrderLocationsAndSeveralHookpointsAreRefused() throws {
        // Swap the first two entries' rows: no longer in torch.nonzero order.
        let directory = try rewrittenCopy(.uint16) { locations in
            var swapped = locations
            for c in 0..<3 { swapped.swapAt(c, 3 + c) }
            return swapped
        }
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let cache = try DelphiLatentCache(path: directory.path)
        XCTAssertThrowsError(try FeatureIndexBuilder.build(codes: cache, sae: nil, saePath: nil, options: FeatureIndexOptions())) { error in
            XCTAssertTrue("\(error)".contains("not in (batch row, position) order"), "\(error)")
        }
        // A latents folder with two hookpoints: the user must pick one.
        let latents = directory.deletingLastPathComponent()
        try FileManager.default.copyItem(at: directory, to: latents.appendingPathComponent("layers.4"))
        XCTAssertThrowsError(try DelphiLatentCache(path: latents.path)) { error in
            XCTAssertTrue("\(error)".contains("holds 2 hookpoints (layers.3, layers.4)"), "\(error)")
        }
        // A dictionary of another width.
        let sae = try DictionaryLoader.load(path: Fixtures.path("dictionaries/gemma_scope_f32"))
        XCTAssertThrowsError(try FeatureIndexBuilder.build(codes: try DelphiLatentCache(path: run), sae: sae, saePath: "g", options: FeatureIndexOptions())) { error in
            XCTAssertTrue("\(error)".contains("cover 32 latents but the dictionary (g) has 48"), "\(error)")
        }
    }
}
