import SAECore

/// Opens the second dictionary of a comparison beside the session being browsed.
public enum ComparisonSession {
    /// B, read over A's cache and tokenizer; its index is `index` or, with a cache, the file
    /// `saescope index` writes by default for B over that cache. Dictionaries of different widths
    /// are refused with the same one-line error as `saescope compare`.
    public static func open(sae path: String, index: String?, alongside main: DictionarySession,
                            options: FeatureIndexOptions = FeatureIndexOptions()) throws
        -> (DictionarySession, DictionarySession.IndexState) {
        let sae = try DictionaryLoader.load(path: path)
        try DictionaryComparison.requireSameDimension(main.sae, pathA: main.saePath, sae, pathB: path)
        guard let indexBase = index ?? main.cachePath.map({ IndexLocation.defaultPath(sae: path, acts: $0) }) else {
            throw SaescopeError("no index of the second dictionary given and no activations to build one from (give --acts or --index2)", file: path)
        }
        let indexPath = index ?? IndexLocation.variant(of: indexBase, options: options, baseIsDefault: true)
        let session = DictionarySession(saePath: path, sae: sae, cachePath: main.cachePath, cache: main.cache,
                                        tokenizer: main.tokenizer, indexPath: indexPath, indexBase: indexBase, indexNamed: index != nil)
        return (session, try session.indexState(explicitIndex: index != nil))
    }
}
