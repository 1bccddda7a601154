import Foundation

/// CE loss recovered and KL of a dictionary, with the model in a `ModelBridge`: for each batch
/// of sequences the child returns the hook's activations (and keeps the clean run), saescope's
/// own encoder reconstructs them, and the child resumes the model with the hook's output
/// replaced by the reconstruction, zeros, the mean and the activations themselves.
public enum ModelLossEvaluator {
    public struct Options: Sendable {
        /// Patch a sequence's first position even when it holds the BOS id (dictionary_learning's
        /// convention); by default it is left clean (SAELens' exclude-special-tokens).
        public var patchBOS = false
        public var bosTokenID: Int?
        /// Padded tokens per request.
        public var batchTokens = 2048
        /// Padded tokens of the first request, the one that also runs the identity splice: small,
        /// so the check costs a few percent of a plain pass instead of a fifth (2,048 of 6,144
        /// tokens resumed once more), and the first partial figures come early.
        public var firstBatchTokens = 256
        /// Sequences whose model activations are compared with the reference (the cache's rows).
        public var checkSequences = 4
        /// Largest relative row error ||model - cache|| / ||cache|| accepted by that check.
        public var activationTolerance = 1e-2
        public init() {}
    }

    public typealias Progress = (Int, Int) -> Void

    /// Which positions of a sequence have their hook output replaced.
    public static func patchMask(_ sequence: [Int32], options: Options) -> [Bool] {
        var mask = [Bool](repeating: true, count: sequence.count)
        if !options.patchBOS, let bos = options.bosTokenID, let first = sequence.first, Int(first) == bos { mask[0] = false }
        return mask
    }

    /// - Parameters:
    ///   - reference: the cache's rows `[len, D]` of sequence s (for the activation check), or nil.
    ///   - mean: the mean activation over the patched positions (mean ablation).
    ///   - describeMismatch: the one-line error for a failed activation check, given the error,
    ///     sequence and position.
    public static func evaluate(
        _ sae: SparseAutoencoder, bridge: ModelBridge, sequences: [[Int32]], reference: ((Int) -> [Float])?,
        mean: [Float], options: Options, describeMismatch: (Double, Int, Int) -> String,
        progress: Progress? = nil, partial: ((ModelLossMetrics) -> Void)? = nil, isCancelled: () -> Bool = { false }
    ) throws -> ModelLossMetrics {
        let d = sae.inputDimension
        guard !sae.isTranscoder else {
            throw SaescopeError("a transcoder cannot be spliced in place of its input: the model run is for SAEs", file: sae.provenance.weightsPath)
        }
        guard bridge.info.dModel == d else {
            throw SaescopeError("the model \(bridge.info.model) has d_model \(bridge.info.dModel) at \(bridge.info.hook) but the dictionary expects D=\(d)")
        }
        guard mean.count == d else { throw SaescopeError("the mean activation has \(mean.count) values, not D=\(d)") }
        var metrics = ModelLossMetrics()
        metrics.patchesBOS = options.patchBOS
        var sums = [Double](repeating: 0, count: 9)  // ce clean, sae, zero, mean, identity; kl sae, zero, mean, identity
        var positionClean: [Double] = [], positionSAE: [Double] = [], positionCount: [Int] = []
        let encoder = SAEEncoder(sae: sae, maxRows: SAEEncoder.suggestedChunkRows(featureCount: sae.featureCount))
        let variants: [(name: String, replace: ModelBridge.Replacement)] = [("sae", .given), ("zero", .zeros), ("mean", .mean)]
        // The identity splice checks the splice path: on the first batch only (a small one:
        // `firstBatchTokens`), as one more resumed pass on every batch would cost about 0.6 of a
        // plain forward pass (SmolLM2, layer 15) and tell nothing the first batch does not.
        var identityCleanSum = 0.0

        /// The means over the predictions so far.
        func summary() -> ModelLossMetrics {
            var metrics = metrics
            let n = Double(metrics.predictionCount)
            metrics.ceClean = sums[0] / n
            metrics.ceWithSAE = sums[1] / n
            metrics.ceZeroAblation = sums[2] / n
            metrics.ceMeanAblation = sums[3] / n
            metrics.ceIdentitySplice = sums[4] / Double(max(1, metrics.identityPredictionCount))
            metrics.ceCleanIdentityBatch = identityCleanSum / Double(max(1, metrics.identityPredictionCount))
            metrics.klWithSAE = sums[5] / n
            metrics.klZeroAblation = sums[6] / n
            metrics.klMeanAblation = sums[7] / n
            metrics.klIdentitySplice = sums[8] / Double(max(1, metrics.identityPredictionCount))
            metrics.byPosition = positionCount.indices.dropFirst().map { t in
                .init(position: t, ceClean: positionClean[t] / Double(max(1, positionCount[t])),
                      ceWithSAE: positionSAE[t] / Double(max(1, positionCount[t])), count: positionCount[t])
            }
            return metrics
        }

        for range in batches(sequences, batchTokens: options.batchTokens, firstBatchTokens: options.firstBatchTokens) {
            if isCancelled() { throw SaescopeError("cancelled") }
            let (start, end) = (range.lowerBound, range.upperBound)
            let batch = Array(sequences[range])
            let (acts, length) = try bridge.activations(batch, keep: true)

            if let reference {
                for row in 0..<batch.count where start + row < options.checkSequences {
                    let expected = reference(start + row)
                    let (error, position) = largestRowError(acts, row: row, length: length, expected: expected, d: d)
                    metrics.checkedSequences += 1
                    metrics.largestActivationError = max(metrics.largestActivationError, error)
                    if !(error <= options.activationTolerance) {
                        throw SaescopeError(describeMismatch(error, start + row, position))
                    }
                }
            }

            var patch = [UInt8](repeating: 0, count: batch.count * length)
            for (row, sequence) in batch.enumerated() {
                for (t, patched) in patchMask(sequence, options: options).enumerated() where patched { patch[row * length + t] = 1 }
            }
            let reconstruction = reconstruct(acts, batch: batch, length: length, encoder: encoder)
            let checksIdentity = start == 0
            let losses = try bridge.loss(patch: patch, batch: batch.count, length: length,
                                         variants: variants + (checksIdentity ? [("identity", .identity)] : []),
                                         given: ["sae": reconstruction], mean: mean)
            let names = ["nll.clean", "nll.sae", "nll.zero", "nll.mean", "nll.identity", "kl.sae", "kl.zero", "kl.mean", "kl.identity"]
            let columns = try names.map { name -> [Float] in
                if name.hasSuffix(".identity") && !checksIdentity { return [] }
                guard let values = losses[name] else { throw SaescopeError("the model process sent no \(name) for `loss`") }
                return values
            }
            for (row, sequence) in batch.enumerated() where sequence.count > 1 {
                if checksIdentity { metrics.identityPredictionCount += sequence.count - 1 }
                for t in 1..<sequence.count {
                    let index = row * (length - 1) + t - 1
                    for k in 0..<names.count where !columns[k].isEmpty { sums[k] += Double(columns[k][index]) }
                    if checksIdentity { identityCleanSum += Double(columns[0][index]) }
                    if positionCount.count <= t {
                        positionClean += [Double](repeating: 0, count: t + 1 - positionCount.count)
                        positionSAE += [Double](repeating: 0, count: t + 1 - positionCount.count)
                        positionCount += [Int](repeating: 0, count: t + 1 - positionCount.count)
                    }
                    positionClean[t] += Double(columns[0][index])
                    positionSAE[t] += Double(columns[1][index])
                    positionCount[t] += 1
                }
                metrics.predictionCount += sequence.count - 1
            }
            progress?(end, sequences.count)
            if let partial, end < sequences.count, metrics.predictionCount > 0 { partial(summary()) }
        }
        guard metrics.predictionCount > 0 else {
            throw SaescopeError("no next-token predictions to evaluate (every sequence has fewer than 2 tokens)")
        }
        return summary()
    }

    /// Consecutive sequences per request, padded to the longest, within `batchTokens` (the first
    /// request within `firstBatchTokens`); a sequence longer than that goes alone.
    public static func batches(_ sequences: [[Int32]], batchTokens: Int, firstBatchTokens: Int) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var start = 0
        while start < sequences.count {
            var end = start + 1
            var longest = sequences[start].count
            let limit = start == 0 ? min(batchTokens, firstBatchTokens) : batchTokens
            while end < sequences.count, max(longest, sequences[end].count) * (end + 1 - start) <= limit {
                longest = max(longest, sequences[end].count)
                end += 1
            }
            result.append(start..<end)
            start = end
        }
        return result
    }

    /// The mean of `rows(s)` over the patched positions of every sequence (mean ablation's vector).
    public static func meanActivation(sequences: [[Int32]], d: Int, options: Options, rows: (Int) throws -> [Float]) rethrows -> [Float] {
        var sum = [Double](repeating: 0, count: d)
        var count = 0
        for (s, sequence) in sequences.enumerated() {
            let values = try rows(s)
            for (t, patched) in patchMask(sequence, options: options).enumerated() where patched {
                for i in 0..<d { sum[i] += Double(values[t * d + i]) }
                count += 1
            }
        }
        return sum.map { Float($0 / Double(max(count, 1))) }
    }

    /// The reconstruction `[B, T, D]` of the real rows of a batch (padding rows zero).
    static func reconstruct(_ acts: [Float], batch: [[Int32]], length: Int, encoder: SAEEncoder) -> [Float] {
        let d = encoder.sae.inputDimension
        var output = [Float](repeating: 0, count: acts.count)
        var pending: [(row: Int, t: Int)] = []
        var chunk = [Float](repeating: 0, count: encoder.maxRows * d)
        func flush() {
            guard !pending.isEmpty else { return }
            chunk.withUnsafeBufferPointer { encoder.run($0.baseAddress!, rows: pending.count, reconstruct: true) }
            for (k, place) in pending.enumerated() {
                let target = (place.row * length + place.t) * d
                for i in 0..<d { output[target + i] = encoder.reconstruction[k * d + i] }
            }
            pending.removeAll(keepingCapacity: true)
        }
        for (row, sequence) in batch.enumerated() {
            for t in 0..<sequence.count {
                let source = (row * length + t) * d
                let slot = pending.count * d
                for i in 0..<d { chunk[slot + i] = acts[source + i] }
                pending.append((row, t))
                if pending.count == encoder.maxRows { flush() }
            }
        }
        flush()
        return output
    }

    /// Largest ||model - expected|| / ||expected|| over the rows of one sequence, and where.
    static func largestRowError(_ acts: [Float], row: Int, length: Int, expected: [Float], d: Int) -> (Double, Int) {
        var worst = 0.0, at = 0
        for t in 0..<(expected.count / d) {
            var difference = 0.0, norm = 0.0
            for i in 0..<d {
                let a = Double(acts[(row * length + t) * d + i]), e = Double(expected[t * d + i])
                difference += (a - e) * (a - e)
                norm += e * e
            }
            let error = norm > 0 ? (difference / norm).squareRoot() : difference.squareRoot()
            if !(error <= worst) { worst = error; at = t }
        }
        return (worst, at)
    }
}
