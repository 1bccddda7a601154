/// Whether an index still describes the dictionary and cache it was built from.
extension IndexProvenance {
    /// nil when the dictionary's weights file and the cache's files are unchanged since the
    /// index was built; otherwise what changed, in words.
    public func staleness(sae: SparseAutoencoder, cache: ActivationCache) -> String? {
        if !FileFingerprint.same(FeatureIndexBuilder.fileFingerprint(sae.provenance.weightsPath), saeFingerprint) {
            return "the dictionary \(sae.provenance.weightsPath) changed since the index was built"
        }
        if !FileFingerprint.same(cache.fingerprint(), cacheFingerprint) {
            return "the activation cache \(cache.path) changed since the index was built"
        }
        return nil
    }
}
