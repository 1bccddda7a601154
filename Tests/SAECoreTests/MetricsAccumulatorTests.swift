import XCTest
@testable import SAECore

final class MetricsAccumulatorTests: XCTestCase {
    /// Chunked accumulation must equal one pass, whatever the chunk sizes (Chan's merge),
    /// and both must equal the two-pass textbook formulas computed here in Double.
    func testChunkingDoesNotChangeTheResult() {
        let d = 5, f = 9, n = 101
        var rng = SeededGenerator(seed: 3)
        // A large common offset stresses the variance computation.
        let x = rng.floats(n * d, in: -1...1).map { $0 + 1000 }
        let xHat = x.map { $0 + Float.random(in: -0.1...0.1, using: &rng) }
        let codes = rng.floats(n * f, in: -1...1).map { max($0, 0) }

        func accumulate(chunk: Int) -> DictionaryMetrics {
            var accumulator = MetricsAccumulator(inputDimension: d, featureCount: f)
            var start = 0
            while start < n {
                let rows = min(chunk, n - start)
                x.withUnsafeBufferPointer { xp in xHat.withUnsafeBufferPointer { hp in codes.withUnsafeBufferPointer { cp in
                    accumulator.add(x: xp.baseAddress! + start * d, reconstruction: hp.baseAddress! + start * d,
                                    codes: cp.baseAddress! + start * f, rows: rows)
                } } }
                start += rows
            }
            return accumulator.result()
        }

        let whole = accumulate(chunk: n)
        for chunk in [1, 7, 50] {
            let chunked = accumulate(chunk: chunk)
            XCTAssertEqual(chunked.explainedVariance, whole.explainedVariance, accuracy: 1e-9)
            XCTAssertEqual(chunked.explainedVarianceDictionaryLearning, whole.explainedVarianceDictionaryLearning, accuracy: 1e-9)
            XCTAssertEqual(chunked.mse, whole.mse, accuracy: 1e-9)
        }

        // Two-pass reference.
        var mean = [Double](repeating: 0, count: d)
        for r in 0..<n { for i in 0..<d { mean[i] += Double(x[r * d + i]) / Double(n) } }
        var total = 0.0, error = 0.0
        for r in 0..<n { for i in 0..<d {
            total += pow(Double(x[r * d + i]) - mean[i], 2)
            error += pow(Double(x[r * d + i]) - Double(xHat[r * d + i]), 2)
        } }
        XCTAssertEqual(whole.fvu, error / total, accuracy: 1e-9)
        XCTAssertEqual(whole.mse, error / Double(n), accuracy: 1e-9)
        XCTAssertEqual(whole.l0, Double(codes.filter { $0 != 0 }.count) / Double(n), accuracy: 1e-12)
        XCTAssertEqual(whole.tokenCount, n)
    }

    /// A large chunk gives exactly the row-order sums of the formulas, bit for bit (a change to
    /// the summation order, for instance splitting the pass across threads, shows here).
    func testLargeChunkEqualsRowOrderSumsBitForBit() {
        let d = 300, f = 4, n = 1000
        var rng = SeededGenerator(seed: 5)
        let x = rng.floats(n * d, in: -1...1).map { $0 + 10 }
        let xHat = x.map { $0 + Float.random(in: -0.5...0.5, using: &rng) }
        let codes = [Float](repeating: 0, count: n * f)
        var accumulator = MetricsAccumulator(inputDimension: d, featureCount: f)
        x.withUnsafeBufferPointer { xp in xHat.withUnsafeBufferPointer { hp in codes.withUnsafeBufferPointer { cp in
            accumulator.add(x: xp.baseAddress!, reconstruction: hp.baseAddress!, codes: cp.baseAddress!, rows: n)
        } } }
        let result = accumulator.result()

        // One thread, rows in order: per-row sums, then per-dimension means and deviations.
        var errorSum = 0.0, cosineSum = 0.0, ratioSum = 0.0, outputSum = 0.0, innerSum = 0.0
        var inputMean = [Double](repeating: 0, count: d), residualMean = [Double](repeating: 0, count: d)
        for r in 0..<n {
            var e = 0.0, xs = 0.0, os = 0.0, inner = 0.0
            for i in 0..<d {
                let a = Double(x[r * d + i]), b = Double(xHat[r * d + i])
                e += (a - b) * (a - b); xs += a * a; os += b * b; inner += a * b
                inputMean[i] += a; residualMean[i] += a - b
            }
            errorSum += e; outputSum += os; innerSum += inner
            cosineSum += inner / (max(xs.squareRoot(), 1e-8) * max(os.squareRoot(), 1e-8))
            ratioSum += os.squareRoot() / xs.squareRoot()
        }
        for i in 0..<d { inputMean[i] /= Double(n); residualMean[i] /= Double(n) }
        var inputM2 = [Double](repeating: 0, count: d), residualM2 = [Double](repeating: 0, count: d)
        for r in 0..<n { for i in 0..<d {
            let a = Double(x[r * d + i])
            inputM2[i] += (a - inputMean[i]) * (a - inputMean[i])
            let residual = (a - Double(xHat[r * d + i])) - residualMean[i]
            residualM2[i] += residual * residual
        } }
        let total = inputM2.reduce(0, +)
        XCTAssertEqual(result.mse, errorSum / Double(n))
        XCTAssertEqual(result.cosSim, cosineSum / Double(n))
        XCTAssertEqual(result.l2Ratio, ratioSum / Double(n))
        XCTAssertEqual(result.relativeReconstructionBias, outputSum / innerSum)
        XCTAssertEqual(result.fvu, errorSum / total)
        XCTAssertEqual(result.explainedVarianceDictionaryLearning, 1 - residualM2.reduce(0, +) / total)
    }

    /// Per-feature fire counts (for SAEBench's densities) add up across merged shards, and are
    /// unknown for an accumulator restored from an index's state, which keeps only `alive`.
    func testFireCountsMergeAndAreUnknownAfterRestore() {
        let d = 3, f = 6, n = 40
        var rng = SeededGenerator(seed: 5)
        let x = rng.floats(n * d, in: -1...1)
        let codes = rng.floats(n * f, in: -1...1).map { max($0, 0) }
        func accumulate(_ rows: Range<Int>) -> MetricsAccumulator {
            var accumulator = MetricsAccumulator(inputDimension: d, featureCount: f)
            x.withUnsafeBufferPointer { xp in codes.withUnsafeBufferPointer { cp in
                accumulator.add(x: xp.baseAddress! + rows.lowerBound * d, reconstruction: xp.baseAddress! + rows.lowerBound * d,
                                codes: cp.baseAddress! + rows.lowerBound * f, rows: rows.count)
            } }
            return accumulator
        }
        var merged = accumulate(0..<17)
        merged.merge(accumulate(17..<n))
        let expected = (0..<f).map { j in (0..<n).filter { codes[$0 * f + j] != 0 }.count }
        XCTAssertEqual(merged.featureFireCounts, expected)
        XCTAssertEqual(accumulate(0..<n).featureFireCounts, expected)
        let state = merged.state
        var restored = try! MetricsAccumulator(inputDimension: d, featureCount: f, scalars: state.scalars, alive: state.alive, moments: state.moments)
        XCTAssertNil(restored.featureFireCounts)
        restored.merge(merged)
        XCTAssertNil(restored.featureFireCounts)
    }

    /// The evaluator drops NaN rows (counted as skipped) and, with an exclusion, rows holding
    /// special ids (counted apart): the metrics equal those of a cache without those rows.
    func testSkippedAndExcludedRowsLeaveTheMetricsAsIfAbsent() throws {
        let d = 3, f = 5
        var rng = SeededGenerator(seed: 4)
        let sae = try SparseAutoencoder(
            inputDimension: d, featureCount: f, encoderWeights: rng.floats(d * f), encoderBias: rng.floats(f, in: -0.2...0.2),
            decoderWeights: rng.floats(f * d), decoderBias: rng.floats(d), rule: .relu, subtractsDecoderBias: true,
            provenance: DictionaryProvenance(library: "test", kind: "test", weightsPath: "test", configPath: nil))
        let tokens: [Int32] = [7, 1, 2, 3, 8, 7, 4, 5, 8]
        var acts = rng.floats(tokens.count * d)
        acts[2 * d + 1] = .nan
        func cache(_ rows: [Int], offsets: [Int]) throws -> ActivationCache {
            let values = rows.flatMap { r in (0..<d).map { acts[r * d + $0] } }
            let ids = rows.map { tokens[$0] }
            let tensor = try ids.withUnsafeBytes { try Tensor(dtype: .int32, shape: [ids.count], buffer: ByteBuffer(copying: $0), byteOffset: 0) }
            return try ActivationCache(label: "test", acts: Tensor(float32: values, shape: [rows.count, d]), tokens: tensor,
                                       sequenceOffsets: offsets, metadata: ["bos_token_id": "7", "eos_token_id": "8"])
        }
        let full = try cache(Array(0..<tokens.count), offsets: [0, 5, 9])
        let exclusion = try SpecialTokenExclusion.forCache(full)
        let pass = try DictionaryEvaluator.run(sae, cache: full, options: .init(exclusion: exclusion, byPosition: true))
        XCTAssertEqual(pass.coverage, RowCoverage(evaluated: 4, skipped: 1, excluded: 4, excludedIDs: "7 (BOS), 8 (EOS)"))
        let kept = try DictionaryEvaluator.evaluate(sae, cache: cache([1, 3, 6, 7], offsets: [0, 2, 4]) as ActivationCache)
        XCTAssertEqual(pass.metrics.result().mse, kept.mse, accuracy: 1e-12 * kept.mse)
        XCTAssertEqual(pass.metrics.result().l0, kept.l0)
        // Positions: rows 1, 3 of the first sequence and 6, 7 (positions 1, 2) of the second.
        XCTAssertEqual(pass.positions?.rows.map(\.count), [0, 2, 1, 1])
    }
}
