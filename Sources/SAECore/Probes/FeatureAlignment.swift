import CBLAS
import Foundation

/// One feature and the cosine of its dictionary vector with a direction.
public struct AlignedFeature: Sendable, Equatable, Codable {
    public var feature: Int
    public var cosine: Double

    public init(feature: Int, cosine: Double) {
        self.feature = feature
        self.cosine = cosine
    }
}

/// The features most aligned with a direction, both signs.
public struct FeatureAlignmentResult: Sendable, Equatable {
    public var side: FeatureAlignment.Side
    /// Highest cosine first (ties to the lower feature id).
    public var mostPositive: [AlignedFeature]
    /// Lowest (most negative) cosine first (ties to the lower feature id).
    public var mostNegative: [AlignedFeature]
}

/// Which SAE features a probe direction points along: the cosine of the direction with every
/// decoder row `W_dec[f]` (the feature's write direction, what probes.md's "cosine of theta with
/// decoder rows" means) or, optionally, with every encoder column `W_enc[:, f]` (the feature's
/// read direction), and the top N of each sign.
///
/// Each query is one `cblas_sgemv` over the weights the dictionary already holds, and holds O(F)
/// besides (the F dot products and, kept from `init`, the F row norms); selection is a bounded
/// heap. A zero or non-finite dictionary vector has cosine 0 with everything, as in `compare`.
/// Cosines are scale-free, so they are the same whether the direction came from raw or centred
/// activations, and whatever input scaling the dictionary applies.
///
/// Build one per dictionary and query it for every probe:
///
///     let aligner = FeatureAlignment(sae: sae)
///     let result = try aligner.top(10, for: probe.direction)            // decoder rows
///     let reading = try aligner.top(10, for: probe.direction, side: .encoder)
public struct FeatureAlignment: Sendable {
    public enum Side: String, Sendable, CaseIterable, Codable {
        /// Rows of `W_dec [F, D]`.
        case decoder
        /// Columns of `W_enc [D, F]`.
        case encoder
    }

    public let sae: SparseAutoencoder
    /// `||W_dec[f]||` (0 where the row is zero or not finite).
    let decoderNorms: [Float]
    /// `||W_enc[:, f]||` (0 where the column is zero or not finite).
    let encoderNorms: [Float]

    /// Precomputes the F decoder row norms and F encoder column norms: O(F·D) time, O(F) memory.
    public init(sae: SparseAutoencoder) {
        self.sae = sae
        let d = sae.inputDimension, dOut = sae.outputDimension, f = sae.featureCount
        decoderNorms = sae.decoderWeights.withUnsafeBufferPointer { weights in
            (0..<f).map { j in
                var sum: Double = 0
                for value in weights[j * dOut..<(j + 1) * dOut] { sum += Double(value) * Double(value) }
                return sum.isFinite ? Float(sum.squareRoot()) : 0
            }
        }
        var squares = [Double](repeating: 0, count: f)
        sae.encoderWeights.withUnsafeBufferPointer { weights in
            for row in 0..<d {
                for j in 0..<f { squares[j] += Double(weights[row * f + j]) * Double(weights[row * f + j]) }
            }
        }
        encoderNorms = squares.map { $0.isFinite ? Float($0.squareRoot()) : 0 }
    }

    /// Every feature's cosine with `direction` (length D): O(F) memory, one sgemv.
    public func cosines(with direction: [Double], side: Side = .decoder) throws -> [Float] {
        // A probe direction lives in the input space; a transcoder's decoder rows do not (D_out).
        let d = side == .decoder ? sae.outputDimension : sae.inputDimension, f = sae.featureCount
        guard direction.count == d, side == .encoder || sae.outputDimension == sae.inputDimension else {
            let width = side == .decoder && sae.outputDimension != sae.inputDimension
                ? "a decoder in another space (D_in=\(sae.inputDimension), D_out=\(sae.outputDimension))" : "D=\(d)"
            throw SaescopeError("the direction has \(direction.count) dimensions but the dictionary has \(width)", file: sae.provenance.weightsPath)
        }
        let length = direction.map { $0 * $0 }.reduce(0, +).squareRoot()
        guard length > 0, length.isFinite else {
            throw SaescopeError("the direction is zero or not finite, so it has no cosine with any feature")
        }
        let unit = direction.map { Float($0 / length) }
        var dots = [Float](repeating: 0, count: f)
        switch side {
        case .decoder:  // W_dec [F, D] · u
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(f), Int32(d), 1, sae.decoderWeights, Int32(d), unit, 1, 0, &dots, 1)
        case .encoder:  // W_encᵀ u, W_enc [D, F]
            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(d), Int32(f), 1, sae.encoderWeights, Int32(f), unit, 1, 0, &dots, 1)
        }
        let norms = side == .decoder ? decoderNorms : encoderNorms
        for j in 0..<f {
            let cosine = norms[j] > 0 ? dots[j] / norms[j] : 0
            dots[j] = cosine.isFinite ? min(1, max(-1, cosine)) : 0
        }
        return dots
    }

    /// The `count` features with the highest and the `count` with the lowest cosine, leaving out
    /// `excluding` (the browser leaves out dead features: they rank by their weights alone).
    public func top(_ count: Int, for direction: [Double], side: Side = .decoder, excluding: Set<Int> = []) throws -> FeatureAlignmentResult {
        var cosines = try cosines(with: direction, side: side)
        for j in excluding where j >= 0 && j < cosines.count { cosines[j] = .nan }  // never selected
        var positive = ExtremeSelection(capacity: min(count, cosines.count), largest: true)
        var negative = ExtremeSelection(capacity: min(count, cosines.count), largest: false)
        cosines.withUnsafeBufferPointer {
            positive.offer($0, base: 0)
            negative.offer($0, base: 0)
        }
        func aligned(_ selection: ExtremeSelection) -> [AlignedFeature] {
            selection.sorted().map { AlignedFeature(feature: $0.index, cosine: Double($0.value)) }
        }
        return FeatureAlignmentResult(side: side, mostPositive: aligned(positive), mostNegative: aligned(negative))
    }
}
