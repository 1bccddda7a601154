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
    private var alive: [Bool]
    private var inputMoments: RunningMoments
    private var residualMoments: RunningMoments
    public private(set) var skippedCount = 0

    public init(inputDimension: Int, featureCount: Int) {
        self.inputDimension = inputDimension
        self.featureCount = featureCount
        alive = [Bool](repeating: false, count: featureCount)
        inputMoments = RunningMoments(dimension: inputDimension)
        residualMoments = RunningMoments(dimension: inputDimension)
    }

    /// Records rows that were left out because they held NaN or infinity.
    public mutating func recordSkipped(_ count: Int) { skippedCount += count }

    /// Adds `rows` tokens: `x` and `reconstruction` are `[rows, D]`, `codes` `[rows, F]`.
    public mutating func add(x: UnsafePointer<Float>, reconstruction: UnsafePointer<Float>, codes: UnsafePointer<Float>, rows: Int) {
        guard rows > 0 else { return }
        let d = inputDimension, f = featureCount
        var residual = [Double](repeating: 0, count: rows * d)
        for row in 0..<rows {
            var errorSquared = 0.0, inputSquared = 0.0, outputSquared = 0.0, inner = 0.0
            for i in 0..<d {
                let a = Double(x[row * d + i]), b = Double(reconstruction[row * d + i])
                let r = a - b
                residual[row * d + i] = r
                errorSquared += r * r
                inputSquared += a * a
                outputSquared += b * b
                inner += a * b
            }
            squaredErrorSum += errorSquared
            reconstructionNormSquaredSum += outputSquared
            innerProductSum += inner
            let inputNorm = inputSquared.squareRoot(), outputNorm = outputSquared.squareRoot()
            cosineSum += inner / (max(inputNorm, 1e-8) * max(outputNorm, 1e-8))
            if inputNorm > 0 {
                normRatioSum += outputNorm / inputNorm
                normRatioCount += 1
            }
            var active = 0
            var absolute = 0.0
            let codeRow = codes + row * f
            for j in 0..<f {
                let value = codeRow[j]
                if value != 0 {
                    active += 1
                    absolute += Double(abs(value))
                    alive[j] = true
                }
            }
            activeCountSum += Double(active)
            absoluteCodeSum += absolute
        }
        inputMoments.add(rows: rows) { row, i in Double(x[row * d + i]) }
        residual.withUnsafeBufferPointer { r in
            residualMoments.add(rows: rows) { row, i in r[row * d + i] }
        }
        tokens += rows
    }

    public var tokenCount: Int { tokens }

    /// Which features fired at least once so far.
    public var aliveFeatures: [Bool] { alive }

    public func result() -> DictionaryMetrics {
        let n = Double(max(tokens, 1))
        let totalVariance = inputMoments.sumOfSquaredDeviations()  // sum_t ||x - mean||^2
        let residualVariance = residualMoments.sumOfSquaredDeviations()
        let fvu = squaredErrorSum / totalVariance
        return DictionaryMetrics(
            mse: squaredErrorSum / n,
            explainedVariance: 1 - fvu,
            explainedVarianceDictionaryLearning: 1 - residualVariance / totalVariance,
            fvu: fvu,
            l0: activeCountSum / n,
            l1: absoluteCodeSum / n,
            fracAlive: Double(alive.lazy.filter { $0 }.count) / Double(max(featureCount, 1)),
            cosSim: cosineSum / n,
            relativeReconstructionBias: reconstructionNormSquaredSum / innerProductSum,
            l2Ratio: normRatioSum / Double(max(normRatioCount, 1)),
            tokenCount: tokens,
            skippedCount: skippedCount)
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

    mutating func add(rows: Int, value: (Int, Int) -> Double) {
        guard rows > 0 else { return }
        let chunkCount = Double(rows), total = Double(count + rows), previous = Double(count)
        for i in 0..<dimension {
            var chunkMean = 0.0
            for row in 0..<rows { chunkMean += value(row, i) }
            chunkMean /= chunkCount
            var chunkM2 = 0.0
            for row in 0..<rows {
                let deviation = value(row, i) - chunkMean
                chunkM2 += deviation * deviation
            }
            let delta = chunkMean - mean[i]
            mean[i] += delta * chunkCount / total
            m2[i] += chunkM2 + delta * delta * previous * chunkCount / total
        }
        count += rows
    }

    /// sum over dimensions and tokens of (value - per-dimension mean)^2.
    func sumOfSquaredDeviations() -> Double { m2.reduce(0, +) }
}
