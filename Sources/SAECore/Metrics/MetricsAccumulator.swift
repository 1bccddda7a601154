import CKernels
import Foundation

/// Streams chunks of (x, x_hat, f) and accumulates `DictionaryMetrics` in Float64, holding only
/// O(D + F) state. Variances use per-chunk centred sums merged with Chan's formula, so large
/// activation means do not cancel catastrophically.
public struct MetricsAccumulator: Sendable {
    public let inputDimension: Int
    public let featureCount: Int

    private var tokens = 0
    private var squaredErrorSum = 0.0
    private var activeCountSum = 0.0
    private var absoluteCodeSum = 0.0
    private var cosineSum = 0.0
    private var reconstructionNormSquaredSum = 0.0
    private var innerProductSum = 0.0
    private var normRatioSum = 0.0
    private var normRatioCount = 0
    /// Sums of ||x|| and ||x_hat|| (SAEBench's l2_norm_in / l2_norm_out); like `fires`, not in
    /// an index's state, so unknown (NaN) for a restored accumulator.
    private var inputNormSum = 0.0
    private var reconstructionNormSum = 0.0
    private var alive: [Bool]
    /// Tokens on which each feature fired (nonzero code), for densities; not known for an
    /// accumulator restored from an index's state, which keeps only `alive`.
    private var fires: [Int]
    private var firesKnown = true
    private var inputMoments: RunningMoments
    private var residualMoments: RunningMoments
    public private(set) var skippedCount = 0
    /// Per row of the last `add`: sum (x - x_hat)^2, sum x^2, sum x_hat^2, sum x x_hat.
    private var rowSums: [Double] = []

    public init(inputDimension: Int, featureCount: Int) {
        self.inputDimension = inputDimension
        self.featureCount = featureCount
        alive = [Bool](repeating: false, count: featureCount)
        fires = [Int](repeating: 0, count: featureCount)
        inputMoments = RunningMoments(dimension: inputDimension)
        residualMoments = RunningMoments(dimension: inputDimension)
    }

    /// Records rows that were left out because they held NaN or infinity.
    public mutating func recordSkipped(_ count: Int) { skippedCount += count }

    /// Adds `rows` tokens: `x` and `reconstruction` are `[rows, D]`, `codes` dense `[rows, F]`.
    public mutating func add(x: UnsafePointer<Float>, reconstruction: UnsafePointer<Float>, codes: UnsafePointer<Float>, rows: Int) {
        guard rows > 0 else { return }
        addReconstructions(x: x, reconstruction: reconstruction, rows: rows)
        let f = featureCount
        for row in 0..<rows {
            for j in 0..<f where codes[row * f + j] != 0 { addCode(feature: j, value: codes[row * f + j]) }
        }
    }

    /// Adds `rows` tokens whose nonzero codes are given row by row (CSR).
    public mutating func add(x: UnsafePointer<Float>, reconstruction: UnsafePointer<Float>, activeCodes: SparseCodeRows, rows: Int) {
        guard rows > 0 else { return }
        addReconstructions(x: x, reconstruction: reconstruction, rows: rows)
        for entry in activeCodes.rowStart[0]..<activeCodes.rowStart[rows] {
            addCode(feature: Int(activeCodes.features[entry]), value: activeCodes.values[entry])
        }
    }

    /// Adds `rows` tokens known only by their codes, counted feature by feature (an index of
    /// precomputed codes, which has no input: `inputDimension` is 0): `fires[j]` codes of feature
    /// j, whose |f| sum to `absoluteSum`. The same as `add(x:reconstruction:activeCodes:rows:)`
    /// with those codes, but for the order |f| were summed in.
    public mutating func addCodeCounts(rows: Int, fires: [Int], absoluteSum: Double) {
        precondition(inputDimension == 0 && fires.count == featureCount, "codes only: no input dimension, one count per feature")
        guard rows > 0 else { return }
        // What addReconstructions adds for rows of no dimensions: tokens, and zero sums.
        tokens += rows
        inputMoments.add(rows: rows, chunkMean: [], chunkM2: [])
        residualMoments.add(rows: rows, chunkMean: [], chunkM2: [])
        for j in 0..<featureCount where fires[j] > 0 {
            activeCountSum += Double(fires[j])
            alive[j] = true
            self.fires[j] += fires[j]
        }
        absoluteCodeSum += absoluteSum
    }

    @inline(__always)
    private mutating func addCode(feature: Int, value: Float) {
        activeCountSum += 1
        absoluteCodeSum += Double(abs(value))
        alive[feature] = true
        fires[feature] += 1
    }

    /// Per-row sums (rows split across the cores) and per-dimension sums (dimensions split),
    /// each in the same order as one loop over the rows, so the result does not depend on the
    /// number of cores; the inner loops are `CKernels`'.
    private mutating func addReconstructions(x: UnsafePointer<Float>, reconstruction: UnsafePointer<Float>, rows: Int) {
        let d = inputDimension
        let parts = max(1, min(ProcessInfo.activeCores, rows))
        rowSums.removeAll(keepingCapacity: true)
        rowSums.append(contentsOf: repeatElement(0, count: 4 * rows))
        rowSums.withUnsafeMutableBufferPointer { sums in
            let sums = sums.baseAddress!
            parallelFor(parts) { part in
                for row in (part * rows / parts)..<((part + 1) * rows / parts) {
                    ck_row_sums(x + row * d, reconstruction + row * d, d, sums + 4 * row)
                }
            }
        }
        for row in 0..<rows {
            let errorSquared = rowSums[4 * row], inputSquared = rowSums[4 * row + 1]
            let outputSquared = rowSums[4 * row + 2], inner = rowSums[4 * row + 3]
            squaredErrorSum += errorSquared
            reconstructionNormSquaredSum += outputSquared
            innerProductSum += inner
            let inputNorm = inputSquared.squareRoot(), outputNorm = outputSquared.squareRoot()
            inputNormSum += inputNorm
            reconstructionNormSum += outputNorm
            cosineSum += inner / (max(inputNorm, 1e-8) * max(outputNorm, 1e-8))
            if inputNorm > 0 {
                normRatioSum += outputNorm / inputNorm
                normRatioCount += 1
            }
        }
        // Per-dimension chunk sums of x and of the residual, the chunk means, then the sums of
        // squared deviations from those means (the residual is recomputed, not stored), a block
        // of dimensions at a time while it is in cache.
        let dimensionParts = max(1, min(parts, d / 8))
        func columns(_ part: Int) -> (Int, Int) {
            (part == 0 ? 0 : (part * d / dimensionParts) & ~7, part == dimensionParts - 1 ? d : ((part + 1) * d / dimensionParts) & ~7)
        }
        var inputMean = [Double](repeating: 0, count: d), residualMean = [Double](repeating: 0, count: d)
        var inputM2 = [Double](repeating: 0, count: d), residualM2 = [Double](repeating: 0, count: d)
        withPointers(&inputMean, &residualMean, &inputM2, &residualM2) { xMean, rMean, xM2, rM2 in
            parallelFor(dimensionParts) { part in
                let (lo, hi) = columns(part)
                ck_column_moments(x, reconstruction, rows, d, lo, hi, xMean, rMean, xM2, rM2)
            }
        }
        inputMoments.add(rows: rows, chunkMean: inputMean, chunkM2: inputM2)
        residualMoments.add(rows: rows, chunkMean: residualMean, chunkM2: residualM2)
        tokens += rows
    }

    public var tokenCount: Int { tokens }

    /// ||x - x_hat||^2 of row `row` of the last `add` (summed in Float64 in index order), for
    /// per-position sums that need not go over the rows again.
    public func squaredError(ofLastAddedRow row: Int) -> Double { rowSums[4 * row] }

    /// Per feature, the tokens on which it fired so far (nil when restored from an index's state).
    public var featureFireCounts: [Int]? { firesKnown ? fires : nil }

    /// E<x, x_hat> / E||x_hat||^2: the factor by which x_hat must be scaled to best approximate x
    /// (the reciprocal of `relativeReconstructionBias`).
    public var projectionScale: Double { inputDimension > 0 ? innerProductSum / reconstructionNormSquaredSum : .nan }

    /// Mean over tokens of ||x|| and of ||x_hat|| (NaN when restored from an index's state).
    public var meanInputNorm: Double { firesKnown ? inputNormSum / Double(max(tokens, 1)) : .nan }
    public var meanReconstructionNorm: Double { firesKnown ? reconstructionNormSum / Double(max(tokens, 1)) : .nan }

    /// Which features fired at least once so far.
    public var aliveFeatures: [Bool] { alive }

    /// Folds in another accumulator's tokens (from another shard of the same cache).
    public mutating func merge(_ other: MetricsAccumulator) {
        precondition(other.inputDimension == inputDimension && other.featureCount == featureCount)
        tokens += other.tokens
        squaredErrorSum += other.squaredErrorSum
        activeCountSum += other.activeCountSum
        absoluteCodeSum += other.absoluteCodeSum
        cosineSum += other.cosineSum
        reconstructionNormSquaredSum += other.reconstructionNormSquaredSum
        innerProductSum += other.innerProductSum
        normRatioSum += other.normRatioSum
        normRatioCount += other.normRatioCount
        inputNormSum += other.inputNormSum
        reconstructionNormSum += other.reconstructionNormSum
        skippedCount += other.skippedCount
        for j in 0..<featureCount where other.alive[j] { alive[j] = true }
        for j in 0..<featureCount { fires[j] += other.fires[j] }
        firesKnown = firesKnown && other.firesKnown
        inputMoments.merge(other.inputMoments)
        residualMoments.merge(other.residualMoments)
    }

    /// The accumulator's whole state as arrays, for index files (so shards can be merged later).
    public var state: (scalars: [Double], alive: [UInt8], moments: [Double]) {
        let scalars = [Double(tokens), squaredErrorSum, activeCountSum, absoluteCodeSum, cosineSum,
                       reconstructionNormSquaredSum, innerProductSum, normRatioSum, Double(normRatioCount), Double(skippedCount)]
        return (scalars, alive.map { $0 ? 1 : 0 }, inputMoments.state + residualMoments.state)
    }

    public init(inputDimension: Int, featureCount: Int, scalars: [Double], alive: [UInt8], moments: [Double]) throws {
        guard scalars.count == 10, alive.count == featureCount, moments.count == 2 * (1 + 2 * inputDimension) else {
            throw SaescopeError("metric state has the wrong size")
        }
        self.init(inputDimension: inputDimension, featureCount: featureCount)
        tokens = Int(scalars[0])
        squaredErrorSum = scalars[1]
        activeCountSum = scalars[2]
        absoluteCodeSum = scalars[3]
        cosineSum = scalars[4]
        reconstructionNormSquaredSum = scalars[5]
        innerProductSum = scalars[6]
        normRatioSum = scalars[7]
        normRatioCount = Int(scalars[8])
        skippedCount = Int(scalars[9])
        self.alive = alive.map { $0 != 0 }
        firesKnown = false
        let half = moments.count / 2
        inputMoments = RunningMoments(dimension: inputDimension, state: Array(moments[..<half]))
        residualMoments = RunningMoments(dimension: inputDimension, state: Array(moments[half...]))
    }

    public func result() -> DictionaryMetrics {
        let n = Double(max(tokens, 1))
        let totalVariance = inputMoments.sumOfSquaredDeviations()  // sum_t ||x - mean||^2
        let residualVariance = residualMoments.sumOfSquaredDeviations()
        let fvu = squaredErrorSum / totalVariance
        // Codes without activations (an index from a delphi latent cache): no reconstruction metrics.
        let reconstructed = inputDimension > 0
        func ifReconstructed(_ value: Double) -> Double { reconstructed ? value : .nan }
        return DictionaryMetrics(
            mse: ifReconstructed(squaredErrorSum / n),
            explainedVariance: ifReconstructed(1 - fvu),
            explainedVarianceDictionaryLearning: ifReconstructed(1 - residualVariance / totalVariance),
            fvu: ifReconstructed(fvu),
            l0: activeCountSum / n,
            l1: absoluteCodeSum / n,
            fracAlive: Double(alive.lazy.filter { $0 }.count) / Double(max(featureCount, 1)),
            cosSim: ifReconstructed(cosineSum / n),
            relativeReconstructionBias: ifReconstructed(reconstructionNormSquaredSum / innerProductSum),
            l2Ratio: ifReconstructed(normRatioSum / Double(max(normRatioCount, 1))),
            tokenCount: tokens,
            skippedCount: skippedCount)
    }
}

/// Six Float64 arrays' storage for the duration of `body`.
private func withPointers(_ a: inout [Double], _ b: inout [Double], _ c: inout [Double], _ d: inout [Double],
                          _ body: (UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>) -> Void) {
    a.withUnsafeMutableBufferPointer { a in b.withUnsafeMutableBufferPointer { b in
        c.withUnsafeMutableBufferPointer { c in d.withUnsafeMutableBufferPointer { d in
            body(a.baseAddress!, b.baseAddress!, c.baseAddress!, d.baseAddress!)
        }}
    }}
}

/// Nonzero codes of consecutive rows: row r's are `features/values[rowStart[r] ..< rowStart[r+1]]`.
public struct SparseCodeRows {
    public let rowStart: UnsafePointer<Int>
    public let features: UnsafePointer<Int32>
    public let values: UnsafePointer<Float>

    public init(rowStart: UnsafePointer<Int>, features: UnsafePointer<Int32>, values: UnsafePointer<Float>) {
        self.rowStart = rowStart
        self.features = features
        self.values = values
    }
}

/// Per-dimension count, mean and sum of squared deviations, merged chunk by chunk (Chan et al.).
struct RunningMoments: Sendable {
    let dimension: Int
    private var count = 0
    private var mean: [Double]
    private var m2: [Double]

    init(dimension: Int) {
        self.dimension = dimension
        mean = [Double](repeating: 0, count: dimension)
        m2 = [Double](repeating: 0, count: dimension)
    }

    /// Folds in a chunk of `rows` given its per-dimension mean and sum of squared deviations.
    mutating func add(rows: Int, chunkMean: [Double], chunkM2: [Double]) {
        guard rows > 0 else { return }
        let chunkCount = Double(rows), total = Double(count + rows), previous = Double(count)
        for i in 0..<dimension {
            let delta = chunkMean[i] - mean[i]
            mean[i] += delta * chunkCount / total
            m2[i] += chunkM2[i] + delta * delta * previous * chunkCount / total
        }
        count += rows
    }

    init(dimension: Int, state: [Double]) {
        self.dimension = dimension
        count = Int(state[0])
        mean = Array(state[1..<(dimension + 1)])
        m2 = Array(state[(dimension + 1)...])
    }

    /// count, then the means, then the sums of squared deviations.
    var state: [Double] { [Double(count)] + mean + m2 }

    mutating func merge(_ other: RunningMoments) {
        guard other.count > 0 else { return }
        guard count > 0 else { self = other; return }
        let a = Double(count), b = Double(other.count), total = a + b
        for i in 0..<dimension {
            let delta = other.mean[i] - mean[i]
            mean[i] += delta * b / total
            m2[i] += other.m2[i] + delta * delta * a * b / total
        }
        count += other.count
    }

    /// sum over dimensions and tokens of (value - per-dimension mean)^2.
    func sumOfSquaredDeviations() -> Double { m2.reduce(0, +) }
}
