import Foundation

/// SAEBench's weight-based feature metrics (`evals/core/main.py`), from the dictionary alone:
/// per feature, the cosine of its encoder column and decoder row, and the largest cosine of its
/// decoder row (encoder column) with any other feature's. The maxima come from the blocked GEMM
/// of `DecoderMatcher` run on one dictionary against itself (never an F x F matrix): each
/// feature's two best matches hold itself at most once, so the first other one is the maximum
/// over j != i. A zero (or non-finite) vector has cosine 0 with everything, as torch's normalize.
public struct WeightMetrics: Sendable, Equatable {
    /// cos(W_enc[:, i], W_dec[i, :]) per feature.
    public let encoderDecoderCosine: [Float]
    /// max over j != i of cos(W_dec[i, :], W_dec[j, :]) per feature.
    public let maxDecoderCosine: [Float]
    /// max over j != i of cos(W_enc[:, i], W_enc[:, j]) per feature.
    public let maxEncoderCosine: [Float]

    public var meanEncoderDecoderCosine: Double { Self.mean(encoderDecoderCosine) }
    public var averageMaxDecoderCosine: Double { Self.mean(maxDecoderCosine) }
    public var averageMaxEncoderCosine: Double { Self.mean(maxEncoderCosine) }

    /// Per-feature values read back (from an index file).
    public init(encoderDecoderCosine: [Float], maxDecoderCosine: [Float], maxEncoderCosine: [Float]) {
        self.encoderDecoderCosine = encoderDecoderCosine
        self.maxDecoderCosine = maxDecoderCosine
        self.maxEncoderCosine = maxEncoderCosine
    }

    public init(sae: SparseAutoencoder, isCancelled: () -> Bool = { false }) throws {
        let d = sae.inputDimension, dOut = sae.outputDimension, f = sae.featureCount
        let decoder = DecoderMatcher.normalizedRows(sae.decoderWeights, count: f, dimension: dOut)
        // W_enc is [D, F]: its columns, as rows.
        var columns = [Float](repeating: 0, count: f * d)
        for row in 0..<d { for j in 0..<f { columns[j * d + row] = sae.encoderWeights[row * f + j] } }
        let encoder = DecoderMatcher.normalizedRows(columns, count: f, dimension: d)
        // Encoder and decoder rows live in different spaces when D_in != D_out: no cosine (n/a).
        encoderDecoderCosine = d != dOut ? [] : (0..<f).map { j in
            var dot = 0.0
            for i in 0..<d { dot += Double(decoder[j * d + i]) * Double(encoder[j * d + i]) }
            return Float(dot)
        }
        maxDecoderCosine = try Self.maxOtherCosine(decoder, count: f, dimension: dOut, isCancelled: isCancelled)
        maxEncoderCosine = try Self.maxOtherCosine(encoder, count: f, dimension: d, isCancelled: isCancelled)
    }

    /// Per unit row, the largest cosine with another row (0 for a dictionary of one feature).
    static func maxOtherCosine(_ rows: [Float], count: Int, dimension: Int, isCancelled: () -> Bool) throws -> [Float] {
        guard count > 1 else { return [Float](repeating: 0, count: count) }
        let matches = try DecoderMatcher.match(normalizedA: rows, countA: count, normalizedB: rows, countB: count,
                                               dimension: dimension, depth: 2, isCancelled: isCancelled).aToB
        return (0..<count).map { i in
            let best = matches.matches(i)
            return best[0].feature != i ? best[0].cosine : best[1].cosine
        }
    }

    private static func mean(_ values: [Float]) -> Double {
        values.isEmpty ? .nan : values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
    }
}
