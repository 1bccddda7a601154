import XCTest
@testable import SAECore

/// The chunk pipeline (read on a helper, encode on the caller, record on the helper) keeps every
/// chunk's stages on that chunk's own buffers and records chunks in order, so a pass in many
/// chunks gives what a pass in one gives.
final class ChunkPipelineTests: XCTestCase {
    func testStagesSeeTheirOwnChunkAndRecordInOrder() throws {
        for count in [1, 2, 3, 4, 17] {
            // Slots and encoders as the passes keep them: chunk i in slot i % 2, encoder i % 2.
            let slots = UncheckedSendable(UnsafeMutablePointer<Int>.allocate(capacity: 2))
            let encoders = UncheckedSendable(UnsafeMutablePointer<Int>.allocate(capacity: 2))
            defer { slots.value.deallocate(); encoders.value.deallocate() }
            var recorded: [Int] = [], reported: [Int] = [], prepared = false, setUp = false
            // What the first encode needs (set-up, chunk 0) is there before it; `prepare` runs
            // beside it, before anything else on the helper (record 0, read 1).
            let order = OrderLog()
            try ChunkPipeline.run(
                chunks: count,
                prepare: { XCTAssertTrue(setUp); prepared = true; order.add("prepare") },
                setUp: { setUp = true; order.add("setUp") },
                read: { i in
                    XCTAssertEqual(prepared, i > 0, "read \(i)")
                    usleep(UInt32((i * 7919) % 3) * 300)  // uneven stage lengths
                    slots.value[i % 2] = i
                    order.add("read \(i)")
                },
                encode: { i in
                    if i == 0 { XCTAssertEqual(order.events.prefix(2).sorted(), ["read 0", "setUp"]) }
                    XCTAssertEqual(slots.value[i % 2], i, "chunk \(i) encoded from another chunk's rows")
                    usleep(UInt32((i * 104_729) % 3) * 300)
                    encoders.value[i % 2] = 10 * i
                },
                record: { i in
                    XCTAssertTrue(prepared, "record \(i) before prepare")
                    XCTAssertEqual(slots.value[i % 2], i, "chunk \(i) recorded with another chunk's rows")
                    XCTAssertEqual(encoders.value[i % 2], 10 * i, "chunk \(i) recorded with another chunk's codes")
                    recorded.append(i)
                },
                recorded: { reported.append($0) })
            XCTAssertTrue(prepared && setUp)
            XCTAssertEqual(recorded, Array(0..<count))
            XCTAssertEqual(reported, Array(0..<count))
        }
    }

    /// Stage names in the order they ran (from either thread).
    private final class OrderLog: @unchecked Sendable {
        private let lock = NSLock()
        private var names: [String] = []
        func add(_ name: String) { lock.lock(); names.append(name); lock.unlock() }
        var events: [String] { lock.lock(); defer { lock.unlock() }; return names }
    }

    func testCancelStopsBeforeTheNextEncodeWithTheHelperDone() {
        var recorded: [Int] = [], encoded: [Int] = []
        XCTAssertThrowsError(try ChunkPipeline.run(
            chunks: 10, read: { _ in usleep(1000) }, encode: { encoded.append($0) }, record: { recorded.append($0) },
            isCancelled: { encoded.count == 4 }))
        XCTAssertEqual(encoded, [0, 1, 2, 3])
        XCTAssertEqual(recorded, [0, 1, 2])
        let settled = recorded
        usleep(20_000)
        XCTAssertEqual(recorded, settled, "the helper ran on after the pass returned")
    }

    /// An evaluation in chunks of 2 rows (NaN and special rows on chunk edges, sequences across
    /// chunks) against the same evaluation in one chunk: counts equal, sums to rounding.
    func testEvaluationInManyChunksEqualsOneChunk() throws {
        let d = 4, f = 6
        var rng = SeededGenerator(seed: 11)
        let sae = try SparseAutoencoder(
            inputDimension: d, featureCount: f, encoderWeights: rng.floats(d * f), encoderBias: rng.floats(f, in: -0.2...0.2),
            decoderWeights: rng.floats(f * d), decoderBias: rng.floats(d), rule: .relu, subtractsDecoderBias: true,
            provenance: DictionaryProvenance(library: "test", kind: "test", weightsPath: "test", configPath: nil))
        let tokens: [Int32] = [7, 1, 2, 3, 8, 7, 4, 5, 6, 8, 7, 9, 1, 2, 3, 4, 5]
        var acts = rng.floats(tokens.count * d)
        acts[3 * d + 2] = .nan
        acts[12 * d] = .infinity
        let ids = try tokens.withUnsafeBytes { try Tensor(dtype: .int32, shape: [tokens.count], buffer: ByteBuffer(copying: $0), byteOffset: 0) }
        let cache = try ActivationCache(label: "test", acts: Tensor(float32: acts, shape: [tokens.count, d]), tokens: ids,
                                        sequenceOffsets: [0, 5, 10, 17], metadata: ["bos_token_id": "7", "eos_token_id": "8"])
        let options = DictionaryEvaluator.Options(exclusion: try SpecialTokenExclusion.forCache(cache), byPosition: true)
        let whole = try DictionaryEvaluator.run(sae, cache: cache, options: options, chunkRows: nil)
        for chunkRows in [1, 2, 3] {
            let chunked = try DictionaryEvaluator.run(sae, cache: cache, options: options, chunkRows: chunkRows)
            XCTAssertEqual(chunked.coverage, whole.coverage)
            XCTAssertEqual(chunked.sequences.tokens, whole.sequences.tokens)
            XCTAssertEqual(chunked.sequences.sequences, whole.sequences.sequences)
            XCTAssertEqual(chunked.positions?.rows.map(\.count), whole.positions?.rows.map(\.count))
            XCTAssertEqual(chunked.metrics.featureFireCounts, whole.metrics.featureFireCounts)
            let a = chunked.metrics.result(), b = whole.metrics.result()
            XCTAssertEqual(a.tokenCount, b.tokenCount)
            XCTAssertEqual(a.l0, b.l0)
            for (x, y) in [(a.mse, b.mse), (a.explainedVariance, b.explainedVariance), (a.cosSim, b.cosSim), (a.l1, b.l1)] {
                XCTAssertEqual(x, y, accuracy: 1e-9 * max(1, abs(y)))
            }
        }
    }
}
