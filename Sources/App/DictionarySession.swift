import Foundation
import SAECore

/// What the browser works on: one dictionary, the activation cache it is browsed over, the
/// tokenizer that turns token ids into text, and where its index lives. Loaded once, read-only,
/// shared with background jobs.
public final class DictionarySession: @unchecked Sendable {
    public let saePath: String
    public let sae: SparseAutoencoder
    public let cachePath: String?
    public let cache: ActivationCache?
    public let tokenizer: TokenizerVocabulary?
    /// The index file opened at launch (read from, and written to when it must be built).
    public let indexPath: String
    /// What index files for other settings are named after (`IndexLocation.variant`): the
    /// default-settings file, or the file named with --index (then `indexNamed`).
    public let indexBase: String
    public let indexNamed: Bool
    public let neighbours: DecoderNeighbours
    /// A short name for titles: the dictionary's folder or file name.
    public let name: String
    /// The model's unembedding (`--unembed`), for each feature's logit effects; set before the UI starts.
    public var unembedding: Unembedding?
    /// What the user should hear once when the browser opens: no tokenizer found (which file was
    /// looked for), an older index whose relative paths were resolved.
    public private(set) var notices: [String] = []

    public init(saePath: String, sae: SparseAutoencoder, cachePath: String?, cache: ActivationCache?,
                tokenizer: TokenizerVocabulary?, indexPath: String, indexBase: String? = nil, indexNamed: Bool = false) {
        self.saePath = saePath
        self.sae = sae
        self.cachePath = cachePath
        self.cache = cache
        self.tokenizer = tokenizer
        self.indexPath = indexPath
        self.indexBase = indexBase ?? indexPath
        self.indexNamed = indexNamed
        neighbours = DecoderNeighbours(sae: sae)
        name = DictionaryName.of(saePath)
    }

    /// How an opened session's index stands: read from disk, or to be built (and why).
    public enum IndexState {
        case loaded(FeatureIndex)
        case needsBuild(reason: String)
    }

    /// Loads the dictionary, the cache and tokenizer (when given or found), and the index when one
    /// exists and is not stale: the file named by `index`, else the one kept for `options` (the
    /// default file for default settings, else its variant). Errors name the file at fault.
    public static func open(sae saePath: String, acts: String?, index: String?, tokenizer: String?,
                            options: FeatureIndexOptions = FeatureIndexOptions()) throws -> (DictionarySession, IndexState) {
        let sae = try DictionaryLoader.load(path: saePath)
        let cache = try acts.map { try ActivationCache(path: $0) }
        if let cache { try DictionaryEvaluator.requireMatchingDimensions(sae, cache) }
        var tokenizerPath = tokenizer, notices: [String] = []
        if tokenizerPath == nil, let cache {
            let found = TokenizerLocation.lookup(cachePath: cache.path, metadata: cache.metadata)
            tokenizerPath = found.path
            if let problem = found.problem, cache.hasTokens { notices.append(problem) }
        } else if tokenizerPath == nil, let index, let provenance = try? IndexFile.read(path: index).provenance {
            // An index opened alone: the tokenizer beside the cache it recorded.
            let found = TokenizerLocation.lookup(cachePath: provenance.cachePath, metadata: provenance.cacheMetadata)
            tokenizerPath = found.path
            if let problem = found.problem { notices.append(problem) }
        }
        let vocabulary = try tokenizerPath.map { try TokenizerVocabulary(path: $0) }
        let indexBase = index ?? acts.map { IndexLocation.defaultPath(sae: saePath, acts: $0) }
        guard let indexBase else {
            throw SaescopeError("no index given and no activations to build one from (give --acts or --index)", file: saePath)
        }
        let indexPath = index ?? IndexLocation.variant(of: indexBase, options: options, baseIsDefault: true)
        let session = DictionarySession(saePath: saePath, sae: sae, cachePath: acts, cache: cache,
                                        tokenizer: vocabulary, indexPath: indexPath, indexBase: indexBase, indexNamed: index != nil)
        session.notices = notices
        return (session, try session.indexState(explicitIndex: index != nil))
    }

    /// The index at `indexPath` when it exists, fits the dictionary and is not stale; otherwise
    /// why one must be built. A missing index given by name (`explicitIndex`) with no cache to
    /// build it from is an error.
    func indexState(explicitIndex: Bool) throws -> IndexState {
        guard FileManager.default.fileExists(atPath: indexPath) else {
            if explicitIndex, cache == nil { throw SaescopeError("no such index", file: indexPath) }
            return .needsBuild(reason: "no index yet")
        }
        let featureIndex: FeatureIndex
        do {
            featureIndex = try IndexFile.read(path: indexPath)
            guard featureIndex.featureCount == sae.featureCount else {
                throw SaescopeError("the index has \(featureIndex.featureCount) features but the dictionary \(sae.featureCount)", file: indexPath)
            }
        } catch let error as SaescopeError where !explicitIndex && cache != nil {
            // Our own cache file, unreadable or of another dictionary (a crash, a full disk, an
            // older saescope): rebuild it rather than refuse to open. A named --index is the user's: refuse.
            return .needsBuild(reason: "the saved index could not be used (\(error.message))")
        }
        if let note = featureIndex.provenance.resolutionNote { notices.append(note) }
        // A latent cache's index given with --acts would read as stale against that cache and be
        // rebuilt over it: the codes (perhaps millions of GPU-encoded tokens) are not replaced.
        if explicitIndex, let cache, featureIndex.provenance.isFromLatentCodes {
            throw SaescopeError("this index was built from a latent cache (index --codes), not from \(cache.path): open it without --acts", file: indexPath)
        }
        if let cache, let stale = featureIndex.provenance.staleness(sae: sae, cache: cache) {
            return .needsBuild(reason: stale)
        }
        return .loaded(featureIndex)
    }

    /// The file an index with `options` is kept in, other than the launch file: named after
    /// `indexBase` by its settings.
    public func variantIndexPath(for options: FeatureIndexOptions) -> String {
        IndexLocation.variant(of: indexBase, options: options, baseIsDefault: !indexNamed)
    }

    /// The index saved at `path` when it exists, reads, fits the dictionary, was built with
    /// `options`' settings and is not stale; else nil (then it is built).
    func savedIndex(at path: String, options: FeatureIndexOptions) -> FeatureIndex? {
        guard FileManager.default.fileExists(atPath: path), let index = try? IndexFile.read(path: path),
              index.featureCount == sae.featureCount, index.options.sameSettings(as: options) else { return nil }
        if let cache, index.provenance.staleness(sae: sae, cache: cache) != nil { return nil }
        return index
    }

    /// A token as it reads in running text; the id in angle brackets without a tokenizer.
    public func tokenText(_ id: Int32) -> String {
        guard id >= 0 else { return "" }
        return tokenizer?.piece(Int(id)) ?? "<\(id)>"
    }

    /// A sequence of tokens as the tokenizer's decoder writes it (special tokens kept); without a
    /// tokenizer, the ids in angle brackets.
    public func decodedText(_ ids: [Int32]) -> String {
        if let tokenizer { return tokenizer.decode(ids.map(Int.init)) }
        return ids.map { "<\($0)>" }.joined(separator: " ")
    }
}
