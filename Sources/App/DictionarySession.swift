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
    /// Where the index is read from and written to.
    public let indexPath: String
    public let neighbours: DecoderNeighbours
    /// A short name for titles: the dictionary's folder or file name.
    public let name: String
    /// The model's unembedding (`--unembed`), for each feature's logit effects; set before the UI starts.
    public var unembedding: Unembedding?
    /// What the user should hear once when the browser opens: no tokenizer found (which file was
    /// looked for), an older index whose relative paths were resolved.
    public private(set) var notices: [String] = []

    public init(saePath: String, sae: SparseAutoencoder, cachePath: String?, cache: ActivationCache?,
                tokenizer: TokenizerVocabulary?, indexPath: String) {
        self.saePath = saePath
        self.sae = sae
        self.cachePath = cachePath
        self.cache = cache
        self.tokenizer = tokenizer
        self.indexPath = indexPath
        neighbours = DecoderNeighbours(sae: sae)
        let standardized = (saePath as NSString).standardizingPath as NSString
        name = standardized.lastPathComponent == "ae.pt"
            ? (standardized.deletingLastPathComponent as NSString).lastPathComponent : standardized.lastPathComponent
    }

    /// How an opened session's index stands: read from disk, or to be built (and why).
    public enum IndexState {
        case loaded(FeatureIndex)
        case needsBuild(reason: String)
    }

    /// Loads the dictionary, the cache and tokenizer (when given or found), and the index when one
    /// exists and is not stale. Errors name the file at fault.
    public static func open(sae saePath: String, acts: String?, index: String?, tokenizer: String?) throws -> (DictionarySession, IndexState) {
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
        let indexPath = index ?? acts.map { IndexLocation.defaultPath(sae: saePath, acts: $0) }
        guard let indexPath else {
            throw SaescopeError("no index given and no activations to build one from (give --acts or --index)", file: saePath)
        }
        let session = DictionarySession(saePath: saePath, sae: sae, cachePath: acts, cache: cache,
                                        tokenizer: vocabulary, indexPath: indexPath)
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
        if let cache, let stale = featureIndex.provenance.staleness(sae: sae, cache: cache) {
            return .needsBuild(reason: stale)
        }
        return .loaded(featureIndex)
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
