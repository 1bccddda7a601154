import CBLAS
import Foundation

/// A dictionary's nearest features to one feature by decoder-direction cosine: what the browser
/// lists as a feature's neighbours. One sgemv over W_dec per query (F x D multiply-adds), with
/// the row norms computed once.
public final class DecoderNeighbours: @unchecked Sendable {
    public struct Neighbour: Sendable, Equatable {
        public var feature: Int
        public var cosine: Float
    }

    private let sae: SparseAutoencoder
    private let inverseNorms: [Float]

    public init(sae: SparseAutoencoder) {
        self.sae = sae
        let d = sae.outputDimension
        inverseNorms = sae.decoderWeights.withUnsafeBufferPointer { w in
            (0..<sae.featureCount).map { j in
                let norm = cblas_snrm2(Int32(d), w.baseAddress! + j * d, 1)
                return norm > 0 ? 1 / norm : 0
            }
        }
    }

    /// The `count` features other than `feature` with the largest cosine, largest first (ties by
    /// id), leaving out those `excluding` names (the browser's dead features).
    public func nearest(to feature: Int, count: Int, excluding: (Int) -> Bool = { _ in false }) -> [Neighbour] {
        let d = sae.outputDimension, f = sae.featureCount
        guard feature >= 0, feature < f, count > 0 else { return [] }
        var dots = [Float](repeating: 0, count: f)
        sae.decoderWeights.withUnsafeBufferPointer { w in
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(f), Int32(d), 1, w.baseAddress!, Int32(d),
                        w.baseAddress! + feature * d, 1, 0, &dots, 1)
        }
        let scale = inverseNorms[feature]
        var best: [Neighbour] = []
        best.reserveCapacity(count + 1)
        for j in 0..<f where j != feature && !excluding(j) {
            let cosine = dots[j] * inverseNorms[j] * scale
            if best.count == count, let last = best.last, cosine <= last.cosine { continue }
            let at = best.firstIndex { cosine > $0.cosine } ?? best.count
            best.insert(Neighbour(feature: j, cosine: cosine), at: at)
            if best.count > count { best.removeLast() }
        }
        return best
    }
}
