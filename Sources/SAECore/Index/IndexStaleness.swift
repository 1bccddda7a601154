/// Whether an index still describes the dictionary and cache it was built from.
extension IndexProvenance {
    /// nil when the dictionary's weights file and the cache's files are unchanged since the
    /// index was built; otherwise what changed, in words.
    public func staleness(sae: SparseAutoencoder, cache: ActivationCache) -> String? {
        if let changed = dictionaryStaleness(sae: sae) { return changed }
        if !FileFingerprint.same(cache.fingerprint(), cacheFingerprint) {
            return "the activation cache \(cache.path) changed since the index was built"
        }
        return nil
    }

    /// The dictionary half of `staleness`, for commands that do not read the cache (export).
    public func dictionaryStaleness(sae: SparseAutoencoder) -> String? {
        // Built without a dictionary (index --codes alone): no weights were read, none changed.
        if hasNoDictionary { return nil }
        return FileFingerprint.same(FeatureIndexBuilder.fileFingerprint(sae.provenance.weightsPath), saeFingerprint) ? nil
            : "the dictionary \(sae.provenance.weightsPath) changed since the index was built"
    }
}
