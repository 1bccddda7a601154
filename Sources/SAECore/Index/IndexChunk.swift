import CKernels

/// One chunk of the index pass as read from the cache: its core rows (recorded) and the rows
/// encoded around them (up to `context` more on each side, within the sequence), the activations,
/// which rows count, and each core row's sequence. Reused from chunk to chunk (buffers are kept);
/// the pass keeps two, one encoded while the other is recorded and then read again.
final class IndexChunk {
    let dimension: Int
    let context: Int
    /// Global rows recorded, and the rows encoded (the grid cell around them plus context margins).
    private(set) var core = 0..<0
    private(set) var encoded = 0..<0
    /// `[encoded.count, D]` activations, non-finite rows zeroed.
    private(set) var x: [Float]
    /// Per encoded row: recorded at all (finite and not a special token), and special.
    private(set) var finite: [Bool]
    private(set) var special: [Bool]
    /// Per core row: its sequence's first and end row.
    private(set) var sequenceStart: [Int]
    private(set) var sequenceEnd: [Int]

    init(maxCoreRows: Int, context: Int, dimension: Int) {
        self.dimension = dimension
        self.context = context
        // Not zeroed: every row is written by `read` before it is used, so the pages are first
        // touched there, by the cores that read the cache, not by the thread setting up the pass.
        x = .uninitialized((maxCoreRows + 2 * context) * dimension)
        finite = [Bool](repeating: true, count: maxCoreRows + 2 * context)
        special = [Bool](repeating: false, count: maxCoreRows + 2 * context)
        sequenceStart = [Int](repeating: 0, count: maxCoreRows)
        sequenceEnd = [Int](repeating: 0, count: maxCoreRows)
    }

    /// Reads core rows `core` of grid cell `cell`, the rest of the cell, and the cell's margins
    /// (up to `context` rows each side, within the sequences at the cell's edges) from `cache`.
    func read(core: Range<Int>, cell: Range<Int>, cache: ActivationCache, exclusion: SpecialTokenExclusion?) {
        precondition(!core.isEmpty && cell.lowerBound <= core.lowerBound && core.upperBound <= cell.upperBound)
        self.core = core
        let d = dimension, c = context
        // Sequence bounds of every core row, walking the offsets once per chunk.
        var sequence = cache.sequence(containing: core.lowerBound)
        for row in core {
            while cache.sequenceOffsets[sequence + 1] <= row { sequence += 1 }
            sequenceStart[row - core.lowerBound] = cache.sequenceOffsets[sequence]
            sequenceEnd[row - core.lowerBound] = cache.sequenceOffsets[sequence + 1]
        }
        let cellStart = cache.sequenceOffsets[cache.sequence(containing: cell.lowerBound)]
        let cellEnd = cache.sequenceOffsets[cache.sequence(containing: cell.upperBound - 1) + 1]
        encoded = max(cellStart, cell.lowerBound - c)..<min(cellEnd, cell.upperBound + c)
        let encoded = self.encoded
        x.withUnsafeMutableBufferPointer { buffer in
            cache.readRows(encoded, into: buffer.baseAddress!)
            // Non-finite rows are zeroed for the encoder and left out of every statistic.
            for r in 0..<encoded.count {
                let row = buffer.baseAddress! + r * d
                finite[r] = ck_all_finite(row, d) != 0
                if !finite[r] { row.update(repeating: 0, count: d) }
                special[r] = exclusion?.excludes(cache.token(atRow: encoded.lowerBound + r)) ?? false
                // A special row is left out like a non-finite one (context shows no activation there).
                if special[r] { finite[r] = false }
            }
        }
    }

    /// Global rows of core row `row`'s sequence.
    func sequence(ofCoreRow row: Int) -> Range<Int> {
        sequenceStart[row - core.lowerBound]..<sequenceEnd[row - core.lowerBound]
    }
}
