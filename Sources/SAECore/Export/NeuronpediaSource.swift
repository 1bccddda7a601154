import Foundation

/// What a Neuronpedia batch says about where its features come from: the batch's top-level
/// `model_id, layer, sae_set, sae_id_suffix` and each feature's `dataset, n_prompts_total,
/// n_tokens_in_prompt`. Defaults come from the index's cache (its metadata and its sequences);
/// the export command lets every one be overridden.
public struct NeuronpediaSource: Sendable, Equatable {
    public var modelID: String
    public var layer: Int
    /// The SAE set (Neuronpedia's source id is `<layer>-<sae_set>[__<suffix>]`).
    public var saeSet: String
    public var saeIDSuffix: String?
    public var dataset: String
    /// Sequences (prompts) the index covered, and the longest of them in tokens.
    public var promptCount: Int
    public var tokensInPrompt: Int

    public init(modelID: String, layer: Int, saeSet: String, saeIDSuffix: String?, dataset: String, promptCount: Int, tokensInPrompt: Int) {
        self.modelID = modelID
        self.layer = layer
        self.saeSet = saeSet
        self.saeIDSuffix = saeIDSuffix
        self.dataset = dataset
        self.promptCount = promptCount
        self.tokensInPrompt = tokensInPrompt
    }

    /// From the index's provenance: model and layer from the cache metadata (`layer`, else the
    /// first number in `hook`), the SAE set from the dictionary's file or folder name, the
    /// dataset from the metadata's `dataset` (else `source`, the text file the exporter read),
    /// and the prompts by reading the cache's sequence boundaries over the indexed rows. Options
    /// given replace what the metadata would say, and a missing one is an error naming it.
    public static func fromIndex(_ index: FeatureIndex, saePath: String, modelID: String? = nil, layer: Int? = nil, saeSet: String? = nil,
                                 saeIDSuffix: String? = nil, dataset: String? = nil, promptCount: Int? = nil,
                                 tokensInPrompt: Int? = nil) throws -> NeuronpediaSource {
        let metadata = index.provenance.cacheMetadata
        guard let model = modelID ?? metadata["model"], !model.isEmpty else {
            throw SaescopeError("the cache metadata recorded in the index names no model; pass --model-id")
        }
        guard let layer = layer ?? metadata["layer"].flatMap({ Int($0) }) ?? metadata["hook"].flatMap(firstNumber) else {
            throw SaescopeError("the cache metadata recorded in the index gives no layer (no 'layer', no number in 'hook'); pass --layer")
        }
        let setName = saeSet ?? URL(fileURLWithPath: saePath).deletingPathExtension().lastPathComponent
        var prompts = promptCount ?? 0, longest = tokensInPrompt ?? 0
        if promptCount == nil || tokensInPrompt == nil {
            let counted = try promptCounts(index)
            prompts = promptCount ?? counted.count
            longest = tokensInPrompt ?? counted.longest
        }
        return NeuronpediaSource(modelID: model, layer: layer, saeSet: setName, saeIDSuffix: saeIDSuffix,
                                 dataset: dataset ?? metadata["dataset"] ?? metadata["source"] ?? "", promptCount: prompts, tokensInPrompt: longest)
    }

    /// The sequences overlapping the index's rows, and the longest (within those rows).
    static func promptCounts(_ index: FeatureIndex) throws -> (count: Int, longest: Int) {
        let path = index.provenance.cachePath
        let offsets: [Int]
        do {
            // An index from `--codes` was built from a delphi latent cache, not activations.
            offsets = index.provenance.cacheMetadata["source"] == "delphi latent cache"
                ? try DelphiLatentCache(path: path).sequenceOffsets : try ActivationCache(path: path).sequenceOffsets
        } catch {
            // No file attribution here: the caller names the index, whose provenance gave this
            // path (a tampered index can name anything); the path is quoted, shortened.
            let reason = (error as? SaescopeError)?.message ?? "\(error)"
            throw SaescopeError("cannot read the activation cache the index was built from (\(Quoted.text(path))), to count its prompts: "
                                + "\(reason); pass --n-prompts-total and --n-tokens-in-prompt")
        }
        let rows = index.provenance.firstRow..<index.provenance.endRow
        var count = 0, longest = 0
        for s in 0..<(offsets.count - 1) {
            let overlap = (offsets[s]..<offsets[s + 1]).clamped(to: rows)
            guard !overlap.isEmpty else { continue }
            count += 1
            longest = max(longest, overlap.count)
        }
        return (count, longest)
    }

    private static func firstNumber(_ text: String) -> Int? {
        text.split(whereSeparator: { !$0.isNumber }).first.flatMap { Int($0) }
    }
}
