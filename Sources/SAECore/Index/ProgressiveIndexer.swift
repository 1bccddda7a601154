import Foundation

/// Builds an index in `steps` shards one after another, publishing the merge of the shards done
/// so far after each: a browser can show every feature early (marked partial) and refine it.
/// Because shards merge exactly (`IndexMerger`), the last merge equals a single pass.
public enum ProgressiveIndexer {
    /// Steps for a cache of `tokens` and a dictionary of `featureCount` features: at least 8, and
    /// about one per 100k tokens up to 64, so the first partial index arrives after at most ~100k
    /// tokens (seconds, not minutes, on a large cache) while each merge (O(F * k)) stays small
    /// next to the shard it adds; but no more than leave each shard 8 of the index's grid cells
    /// (chunks of up to 4,096 rows): a shard encodes the whole cells its edges fall in, so shards
    /// of a few cells would encode several times the rows (the 12,288-token sample in 8 shards:
    /// 3.3x). With 8 cells or more a shard encodes at most an eighth more.
    public static func suggestedSteps(tokens: Int, featureCount: Int) -> Int {
        let cellRows = SAEEncoder.suggestedChunkRows(featureCount: featureCount)
        return max(1, min(64, max(8, tokens / 100_000), tokens / (8 * cellRows)))
    }

    /// `partial(index, shardsDone, steps)` after every shard but the last; progress is over the whole cache.
    public static func build(
        sae: SparseAutoencoder, saePath: String, cache: ActivationCache, options: FeatureIndexOptions, steps: Int,
        progress: FeatureIndexBuilder.Progress? = nil, partial: ((FeatureIndex, Int, Int) -> Void)? = nil,
        isCancelled: () -> Bool = { false }
    ) throws -> FeatureIndex {
        // Fewer sequences than steps would leave empty shards: merge needs none of them.
        // A token window (--first-token, --max-tokens) applies per shard, so a windowed pass runs in
        // one step to mean what it says.
        let windowed = options.maxTokens != nil || options.firstToken != nil
        let steps = windowed ? 1 : max(1, min(steps, cache.sequenceCount))
        if steps == 1 {
            // No weight cosines here: the interface computes them once per session in a job of
            // their own (they depend on the weights only, and cost F^2 D: as much as a pass).
            return try FeatureIndexBuilder.build(sae: sae, saePath: saePath, cache: cache, options: options,
                                                 progress: progress, isCancelled: isCancelled)
        }
        var total = 0
        var shardRows: [Int] = []
        for step in 0..<steps {
            var shard = options
            shard.shardIndex = step
            shard.shardCount = steps
            let rows = FeatureIndexBuilder.rowRange(cache: cache, options: shard).count
            shardRows.append(rows)
            total += rows
        }
        var merged: FeatureIndex?
        var done = 0
        for step in 0..<steps {
            var shard = options
            shard.shardIndex = step
            shard.shardCount = steps
            let part = try FeatureIndexBuilder.build(
                sae: sae, saePath: saePath, cache: cache, options: shard,
                progress: { shardDone, _ in progress?(done + shardDone, total) }, isCancelled: isCancelled)
            done += shardRows[step]
            merged = try merged.map { try IndexMerger.merge([$0, part]) } ?? part
            if step < steps - 1, let merged { partial?(merged, step + 1, steps) }
        }
        return merged!
    }
}
