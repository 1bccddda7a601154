import Foundation

/// An index per settings: an index built with settings other than the defaults is a variant,
/// saved beside the default-settings file under a name that says its settings
/// (`trainer_0-1f3a….min-act=1.index.safetensors`), so re-indexing with other settings never
/// replaces the default index, and coming back to settings used before finds their file.
extension FeatureIndexOptions {
    /// The settings that differ from the defaults, as `name=value` words in the order of
    /// `:reindex` ("min-act=1 max-tokens=6000"); empty for the defaults. Shards are not settings.
    public var settingsWords: [String] {
        let d = FeatureIndexOptions()
        var words: [String] = []
        if topK != d.topK { words.append("top-k=\(topK)") }
        if context != d.context { words.append("context=\(context)") }
        if intervals != d.intervals { words.append("intervals=\(intervals)") }
        if perInterval != d.perInterval { words.append("per-interval=\(perInterval)") }
        if bins != d.bins { words.append("bins=\(bins)") }
        if minActivation != d.minActivation {
            let whole = minActivation.rounded() == minActivation && abs(minActivation) < 1e9
            words.append("min-act=" + (whole ? String(Int(minActivation)) : "\(minActivation)"))
        }
        if let firstToken, firstToken != 0 { words.append("first-token=\(firstToken)") }
        if let maxTokens { words.append("max-tokens=\(maxTokens)") }
        if seed != d.seed { words.append("seed=\(seed)") }
        if excludesSpecial { words.append("exclude-special") }
        return words
    }

    /// Whether two option sets give the same index (every setting; shards aside).
    public func sameSettings(as other: FeatureIndexOptions) -> Bool {
        settingsWords == other.settingsWords
    }
}

extension IndexLocation {
    /// Where the index of `sae` over `acts` with `options` is kept when no file is named: the
    /// default file for default settings, else its variant.
    public static func path(sae: String, acts: String, options: FeatureIndexOptions) -> String {
        variant(of: defaultPath(sae: sae, acts: acts), options: options, baseIsDefault: true)
    }

    /// The file for `options` beside `base`: `base` itself when `baseIsDefault` and the settings
    /// are the defaults, else `base` with the settings inserted before its extension
    /// (`x.index.safetensors` -> `x.min-act=1.index.safetensors`; `default` names the default
    /// settings beside a file of other settings).
    public static func variant(of base: String, options: FeatureIndexOptions, baseIsDefault: Bool) -> String {
        let words = options.settingsWords
        if words.isEmpty, baseIsDefault { return base }
        let label = words.isEmpty ? "default" : words.joined(separator: ",")
        let directory = (base as NSString).deletingLastPathComponent
        var name = (base as NSString).lastPathComponent
        var suffix = ""
        for ending in [".index.safetensors", ".safetensors"] where name.hasSuffix(ending) {
            suffix = ending
            break
        }
        if suffix.isEmpty, let dot = name.lastIndex(of: "."), dot != name.startIndex { suffix = String(name[dot...]) }
        name.removeLast(suffix.count)
        let file = "\(name).\(label)\(suffix)"
        return directory.isEmpty ? file : (directory as NSString).appendingPathComponent(file)
    }
}
