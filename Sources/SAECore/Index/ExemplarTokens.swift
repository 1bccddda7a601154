import CKernels
import Foundation

extension FeatureIndexBuilder {
    /// Token ids around each kept exemplar (-1 outside its sequence), read from the cache once
    /// at the end; blocks of features in parallel.
    static func fillContextTokens(_ tables: inout FeatureTables, cache: ActivationCache) {
        let reader = TokenWindows(cache: cache, context: tables.options.context), w = tables.options.contextWidth
        withExtendedLifetime(cache) {
            fillContextTokens(&tables) { rows, windows in
                for (i, row) in rows.enumerated() { reader.fill(windows + i * w, around: row) }
            }
        }
    }

    /// The same from a token matrix `[sequences, length]` (int32 or int64) read row-major, each
    /// sequence one row of it (a delphi latent cache's tokens): a C loop that prefetches the ids
    /// of the windows ahead (`ck_token_windows`), since each window is a random read.
    static func fillContextTokens(_ tables: inout FeatureTables, tokenMatrix: Tensor) {
        let ids = UnsafeRawPointer(tokenMatrix.buffer.base + tokenMatrix.byteOffset)
        let isInt64: Int32 = tokenMatrix.dtype == .int64 ? 1 : 0
        let length = Int64(tokenMatrix.shape[1]), context = Int64(tables.options.context)
        withExtendedLifetime(tokenMatrix) {
            fillContextTokens(&tables) { rows, windows in
                ck_token_windows(ids, isInt64, length, context, rows.baseAddress!, Int64(rows.count), windows)
            }
        }
    }

    /// Calls `fill(rows, windows)` for the top and the sample slots of blocks of features in
    /// parallel: `windows` has room for one window of `contextWidth` ids per row (rows of -1
    /// are empty slots, to be left alone); `rows` is never empty.
    private static func fillContextTokens(
        _ tables: inout FeatureTables, fill: (UnsafeBufferPointer<Int64>, UnsafeMutablePointer<Int32>) -> Void
    ) {
        let options = tables.options, f = tables.featureCount, w = options.contextWidth
        let topSlots = options.topK, sampleSlots = options.intervals * options.perInterval
        let topRow = tables.topRow, sampleRow = tables.sampleRow
        let topTokens = tables.topTokens.uniqueBaseAddress(), sampleTokens = tables.sampleTokens.uniqueBaseAddress()
        let blocks = max(1, min(f, 4 * ProcessInfo.activeCores))
        topRow.withUnsafeBufferPointer { topRow in
            sampleRow.withUnsafeBufferPointer { sampleRow in
                parallelFor(blocks) { b in
                    let features = (b * f / blocks)..<((b + 1) * f / blocks)
                    for (slots, rows, tokens) in [(topSlots, topRow, topTokens), (sampleSlots, sampleRow, sampleTokens)] {
                        let first = features.lowerBound * slots, count = features.count * slots
                        guard count > 0 else { continue }
                        fill(UnsafeBufferPointer(rebasing: rows[first..<first + count]), tokens + first * w)
                    }
                }
            }
        }
    }
}

/// Reads token-id windows straight from the cache's mapped token tensors: the cache's own
/// per-token accessor looks up the shard and copies its description on every call, which
/// dominates when filling millions of windows. Valid while the cache lives.
private struct TokenWindows: @unchecked Sendable {
    private struct Part {
        let firstRow: Int
        let endRow: Int
        /// Nil when the shard has no token ids.
        let ids: UnsafeRawPointer?
        let isInt64: Bool
    }

    private let parts: [Part]
    private let sequenceOffsets: [Int]
    private let context: Int

    init(cache: ActivationCache, context: Int) {
        parts = cache.shards.map { shard in
            Part(firstRow: shard.firstRow, endRow: shard.firstRow + shard.rowCount,
                 ids: shard.tokens.map { UnsafeRawPointer($0.buffer.base + $0.byteOffset) },
                 isInt64: shard.tokens?.dtype == .int64)
        }
        sequenceOffsets = cache.sequenceOffsets
        self.context = context
    }

    /// Writes the ids of rows row-c ... row+c into `window` (-1 outside the row's sequence, or
    /// where the cache has no ids); leaves it alone when `row` is -1 (an empty slot).
    func fill(_ window: UnsafeMutablePointer<Int32>, around row: Int64) {
        guard row >= 0 else { return }
        let row = Int(row), c = context
        // The sequence holding the row (binary search, as ActivationCache.sequence(containing:)).
        var low = 0, high = sequenceOffsets.count - 1
        while high - low > 1 {
            let middle = (low + high) / 2
            if sequenceOffsets[middle] <= row { low = middle } else { high = middle }
        }
        let first = sequenceOffsets[low], end = sequenceOffsets[low + 1]
        var part = self.part(containing: max(first, row - c))
        for p in 0...(2 * c) {
            let neighbour = row - c + p
            guard neighbour >= first && neighbour < end else { window[p] = -1; continue }
            while neighbour >= parts[part].endRow { part += 1 }
            window[p] = token(parts[part], neighbour)
        }
    }

    private func part(containing row: Int) -> Int {
        var low = 0, high = parts.count
        while high - low > 1 {
            let middle = (low + high) / 2
            if parts[middle].firstRow <= row { low = middle } else { high = middle }
        }
        return low
    }

    /// As `ActivationCache.token(atRow:)`: -1 without ids, or for an id that does not fit Int32.
    @inline(__always)
    private func token(_ part: Part, _ row: Int) -> Int32 {
        guard let ids = part.ids else { return -1 }
        let local = row - part.firstRow
        let id: Int64 = part.isInt64
            ? ids.loadUnaligned(fromByteOffset: local * 8, as: Int64.self)
            : Int64(ids.loadUnaligned(fromByteOffset: local * 4, as: Int32.self))
        return (id >= 0 && id <= Int64(Int32.max)) ? Int32(id) : -1
    }
}
