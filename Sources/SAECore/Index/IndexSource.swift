/// What an index was built from, as the screens and commands need to word it: a delphi latent
/// cache (`index --codes`) has codes but no activations, and maybe no dictionary at all.
extension IndexProvenance {
    /// The `source` metadata `DelphiLatentCache` gives its caches, which the index keeps.
    public static let latentCacheSource = "delphi latent cache"

    /// Built by `index --codes` from a latent cache: no activations, so no reconstruction
    /// metrics, position figures or special-token exclusion.
    public var isFromLatentCodes: Bool { cacheMetadata["source"] == Self.latentCacheSource }

    /// Built with no dictionary (`index --codes` without `--sae`): there is no weights file to
    /// compare, so any dictionary of its width is as current as another.
    public var hasNoDictionary: Bool { saePath.isEmpty && saeFingerprint.isEmpty }
}
