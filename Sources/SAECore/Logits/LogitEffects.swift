import CBLAS
import Foundation

/// One vocabulary entry and a feature's direct effect on its logit.
public struct TokenEffect: Sendable, Equatable, Codable {
    public var token: Int
    public var value: Float

    public init(token: Int, value: Float) {
        self.token = token
        self.value = value
    }
}

/// A feature's logit effects: the vocabulary entries its decoder direction raises most and
/// lowers most.
public struct FeatureLogitEffects: Sendable, Equatable {
    public var feature: Int
    /// Highest `W_dec[f] · W_U[:, t]` first (ties to the lower token id): dashboards' `pos_*`.
    public var positive: [TokenEffect]
    /// Lowest first (ties to the lower token id): dashboards' `neg_*`.
    public var negative: [TokenEffect]
    /// The histogram of all V effects, when asked for (dashboards' `logits_hist_data_*`).
    public var histogram: LogitHistogram? = nil
}

/// Direct logit effects of features, as web dashboards show them (formats.md section 4): for
/// feature f, the vector `W_dec[f] @ W_U` over the vocabulary, and its top and bottom `count`
/// entries. Computed exactly as that product, on the dictionary's canonical decoder (so for
/// dictionary_learning dictionaries, the unit-norm decoder its loader returns), without the
/// model's final layer norm, as the dashboards do.
///
/// A blocked `cblas_sgemm` of the selected decoder rows against `W_U`: vocabulary blocks in the
/// outer loop (each block of `W_U` read, and converted to float32 when the file holds another
/// dtype, once), chunks of features inside. Memory besides the dictionary and the memory-mapped
/// unembedding: one feature chunk of decoder rows (`featureChunk · D` floats), one score block
/// (`featureChunk · vocabularyBlock` floats, never `features × V`), a converted `W_U` block
/// (`D · vocabularyBlock` floats, only for non-float32 or unaligned files) and the `2 · count`
/// kept entries per feature.
public enum LogitEffects {
    public static let defaultCount = 10
    public static let defaultFeatureChunk = 128
    /// The default vocabulary block keeps a converted `W_U` block near 32 MiB.
    public static func defaultVocabularyBlock(dimension: Int, vocabularySize: Int) -> Int {
        min(vocabularySize, max(256, (32 << 20) / (MemoryLayout<Float>.size * max(dimension, 1))))
    }

    /// Progress as (vocabulary entries done, vocabulary size).
    public typealias Progress = (Int, Int) -> Void

    /// Top and bottom `count` logit effects of each of `features` (in the order given); with
    /// `histogramBins > 0` also the histogram of all V effects between each feature's lowest and
    /// highest (a second sweep over `W_U`, since the range is known only after the first).
    public static func compute(features: [Int], sae: SparseAutoencoder, unembedding: Unembedding, count: Int = defaultCount,
                               histogramBins: Int = 0, featureChunk: Int = defaultFeatureChunk, vocabularyBlock: Int? = nil,
                               progress: Progress? = nil, isCancelled: () -> Bool = { false }) throws -> [FeatureLogitEffects] {
        // Decoder rows live in the output space (D_out: a transcoder's output site).
        let d = sae.outputDimension, v = unembedding.vocabularySize
        guard unembedding.dimension == d else {
            throw SaescopeError("the unembedding has D=\(unembedding.dimension) but the dictionary's decoder has D=\(d)", file: unembedding.path)
        }
        guard count >= 1 else { throw SaescopeError("the number of logit effects per feature must be at least 1") }
        for j in features where j < 0 || j >= sae.featureCount {
            throw SaescopeError("feature \(j) does not exist: valid ids are 0 to \(sae.featureCount - 1)")
        }
        guard !features.isEmpty else { return [] }
        let chunk = max(1, featureChunk)
        let block = max(1, min(v, vocabularyBlock ?? defaultVocabularyBlock(dimension: d, vocabularySize: v)))
        let kept = min(count, v)
        var positive = features.map { _ in ExtremeSelection(capacity: kept, largest: true) }
        var negative = features.map { _ in ExtremeSelection(capacity: kept, largest: false) }

        let direct = unembedding.isDirectFloat32
        let rowsCapacity = min(chunk, features.count)
        let converted = UnsafeMutablePointer<Float>.allocate(capacity: direct ? 1 : d * block)
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: rowsCapacity * d)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: rowsCapacity * block)
        defer {
            converted.deallocate()
            rows.deallocate()
            scores.deallocate()
        }

        /// Runs `visit(feature position, scores, first token id)` on every block of scores.
        func sweep(_ visit: (Int, UnsafeBufferPointer<Float>, Int) -> Void) throws {
            try sae.decoderWeights.withUnsafeBufferPointer { decoder in
                for start in stride(from: 0, to: v, by: block) {
                    if isCancelled() { throw SaescopeError("cancelled") }
                    let width = min(block, v - start)
                    let unembed: UnsafePointer<Float>, ldb: Int
                    if direct {
                        unembed = unembedding.float32Base + (unembedding.storedTransposed ? start * d : start)
                        ldb = unembedding.storedTransposed ? d : v
                    } else {
                        unembedding.convertBlock(start: start, count: width, into: converted)
                        unembed = UnsafePointer(converted)
                        ldb = unembedding.storedTransposed ? d : width
                    }
                    for first in stride(from: 0, to: features.count, by: chunk) {
                        let m = min(chunk, features.count - first)
                        for r in 0..<m {
                            (rows + r * d).update(from: decoder.baseAddress! + features[first + r] * d, count: d)
                        }
                        // scores [m, width] = rows [m, D] · W_U block ([D, width], or [width, D] transposed)
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, unembedding.storedTransposed ? CblasTrans : CblasNoTrans,
                                    Int32(m), Int32(width), Int32(d), 1, rows, Int32(d), unembed, Int32(ldb), 0, scores, Int32(width))
                        for r in 0..<m {
                            visit(first + r, UnsafeBufferPointer(start: scores + r * width, count: width), start)
                        }
                    }
                    progress?(start + width, v)
                }
            }
        }
        try sweep { i, row, start in
            positive[i].offer(row, base: start)
            negative[i].offer(row, base: start)
        }
        var results = features.indices.map { i in
            FeatureLogitEffects(feature: features[i],
                                positive: positive[i].sorted().map { TokenEffect(token: $0.index, value: $0.value) },
                                negative: negative[i].sorted().map { TokenEffect(token: $0.index, value: $0.value) })
        }
        if histogramBins > 0 {
            var histograms = results.map {
                LogitHistogram(lowest: $0.negative.first?.value ?? 0, highest: $0.positive.first?.value ?? 0, bins: histogramBins)
            }
            try sweep { i, row, _ in histograms[i].add(row) }
            for i in results.indices { results[i].histogram = histograms[i] }
        }
        return results
    }
}
