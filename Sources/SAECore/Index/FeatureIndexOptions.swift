/// What one indexing pass records for every feature. Stored in the index so that merged shards
/// and reopened files are known to agree.
public struct FeatureIndexOptions: Sendable, Equatable, Codable {
    /// Top exemplars kept per feature.
    public var topK = 20
    /// Tokens of context on each side of an exemplar.
    public var context = 5
    /// Equal-width activation intervals for interval exemplars (even, so intervals can be merged in pairs).
    public var intervals = 10
    /// Exemplars sampled per interval.
    public var perInterval = 5
    /// Histogram bins (even, for the same reason).
    public var bins = 50
    /// Activations below this count as zero (0: every positive activation counts).
    public var minActivation: Float = 0
    /// Index at most this many tokens (of this shard).
    public var maxTokens: Int?
    /// Start at this token (a row of the cache) instead of the first: with `maxTokens`, a window.
    /// Optional so that indexes written before it existed still read. Not with shards.
    public var firstToken: Int?
    /// Index shard `shardIndex` of `shardCount`: a contiguous 1/N of the sequences.
    public var shardIndex = 0
    public var shardCount = 1
    /// Seed of the interval sampling keys.
    public var seed: UInt64 = 0
    /// Leave rows holding the cache's BOS/EOS/PAD ids out of everything (`--exclude-special`).
    /// Optional so that indexes written before it existed still read (nil: off).
    public var excludeSpecial: Bool?

    /// Whether special-token rows are left out.
    public var excludesSpecial: Bool { excludeSpecial ?? false }

    public init() {}

    public var contextWidth: Int { 2 * context + 1 }

    public func validate() throws {
        guard topK >= 1, topK <= 1000 else { throw SaescopeError("--top-k must be between 1 and 1000") }
        guard context >= 0, context <= 256 else { throw SaescopeError("--context must be between 0 and 256") }
        guard intervals >= 2, intervals % 2 == 0, intervals <= 1000 else { throw SaescopeError("--intervals must be an even number from 2 to 1000") }
        guard perInterval >= 0, perInterval <= 1000 else { throw SaescopeError("--per-interval must be between 0 and 1000") }
        guard bins >= 2, bins % 2 == 0, bins <= 10_000 else { throw SaescopeError("--bins must be an even number from 2 to 10000") }
        guard minActivation >= 0, minActivation.isFinite else { throw SaescopeError("--min-act must be a non-negative number") }
        if let maxTokens, maxTokens <= 0 { throw SaescopeError("--max-tokens must be positive") }
        if let firstToken {
            guard firstToken >= 0 else { throw SaescopeError("--first-token must be 0 or more") }
            guard shardCount == 1 else { throw SaescopeError("--first-token picks a window of one pass; it does not combine with --shard") }
        }
        guard shardCount >= 1, shardIndex >= 0, shardIndex < shardCount else { throw SaescopeError("--shard must be I/N with 0 <= I < N") }
    }

    /// Whether two indexes recorded the same things (everything but the shard and token limit).
    public func isCompatible(with other: FeatureIndexOptions) -> Bool {
        topK == other.topK && context == other.context && intervals == other.intervals
            && perInterval == other.perInterval && bins == other.bins
            && minActivation == other.minActivation && seed == other.seed && excludesSpecial == other.excludesSpecial
    }
}
