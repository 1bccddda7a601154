import CKernels

/// One chunk of the evaluation pass as read from the cache: the rows kept (finite, not excluded)
/// packed to the front, with each one's sequence and position, their targets for a transcoder,
/// and how many rows were left out. Reused from chunk to chunk (buffers are kept); the pass keeps
/// two, one encoded while the other is recorded and then read again.
final class EvaluationChunk {
    let inputDimension: Int
    /// The targets' width, or nil when the reconstruction is measured against the input.
    let targetDimension: Int?
    /// `[kept, D_in]` inputs, then `[kept, D_out]` targets (a transcoder's reference).
    private(set) var x: [Float]
    private(set) var targets: [Float]
    /// Per kept row: its sequence and its position in it.
    private(set) var keptSequence: [Int]
    private(set) var keptPosition: [Int]
    private(set) var kept = 0
    private(set) var nonFinite = 0
    private(set) var excluded = 0

    init(maxRows: Int, inputDimension: Int, targetDimension: Int?) {
        self.inputDimension = inputDimension
        self.targetDimension = targetDimension
        // Not zeroed: `read` writes every row it keeps (the pages are first touched there, by the
        // cores reading the cache, instead of by the thread setting up the pass).
        x = .uninitialized(maxRows * inputDimension)
        targets = .uninitialized(maxRows * (targetDimension ?? 0))
        keptSequence = [Int](repeating: 0, count: maxRows)
        keptPosition = [Int](repeating: 0, count: maxRows)
    }

    /// Reads global rows `rows` from `cache`, leaving out rows holding `exclusion`'s ids and rows
    /// whose input (or target) is not finite.
    func read(_ rows: Range<Int>, cache: ActivationCache, exclusion: SpecialTokenExclusion?) {
        let dIn = inputDimension, dOut = targetDimension ?? 0, usesTargets = targetDimension != nil
        kept = 0
        nonFinite = 0
        excluded = 0
        var sequence = cache.sequence(containing: rows.lowerBound)
        x.withUnsafeMutableBufferPointer { buffer in
            targets.withUnsafeMutableBufferPointer { targetBuffer in
                let base = buffer.baseAddress!
                cache.readRows(rows, into: base)
                if usesTargets { cache.readTargetRows(rows, into: targetBuffer.baseAddress!) }
                for row in rows {
                    let r = row - rows.lowerBound
                    while cache.sequenceOffsets[sequence + 1] <= row { sequence += 1 }
                    if let exclusion, exclusion.excludes(cache.token(atRow: row)) { excluded += 1; continue }
                    let source = base + r * dIn
                    guard ck_all_finite(source, dIn) != 0 else { nonFinite += 1; continue }
                    if usesTargets {
                        let target = targetBuffer.baseAddress! + r * dOut
                        guard ck_all_finite(target, dOut) != 0 else { nonFinite += 1; continue }
                        if kept != r { (targetBuffer.baseAddress! + kept * dOut).update(from: target, count: dOut) }
                    }
                    if kept != r { (base + kept * dIn).update(from: source, count: dIn) }
                    keptSequence[kept] = sequence
                    keptPosition[kept] = row - cache.sequenceOffsets[sequence]
                    kept += 1
                }
            }
        }
    }
}
