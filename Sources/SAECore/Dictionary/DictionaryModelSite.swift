import Foundation

/// Where a dictionary reads its language model, as its own config files say: the model's name,
/// the block whose output it encodes (or a module to hook), and whether its training sequences
/// started with BOS. `text` and `open --model` use it when no cache and no option says so, so
/// `saescope text --sae DIR "..."` needs nothing else when the dictionary's model is on this
/// machine. Only sites saescope can hook exactly are read; anything else stays nil and the
/// user is asked for `--layer`/`--hook`.
public struct DictionaryModelSite: Equatable, Sendable {
    /// The model as the dictionary names it (a hub name, TransformerLens name, or `package:...`).
    public var model: String?
    /// The block whose output the dictionary encodes, counted from 0.
    public var layer: String?
    /// `PrependBOS` mode of the training sequences (`always` / `never`), when the config says.
    public var prependBOS: String?
    /// Where this came from, for messages ("cfg.json: blocks.15.hook_resid_post").
    public var source: String?

    public init(model: String? = nil, layer: String? = nil, prependBOS: String? = nil, source: String? = nil) {
        self.model = model
        self.layer = layer
        self.prependBOS = prependBOS
        self.source = source
    }

    /// The site of a loaded dictionary, from the config file its loader read (and, for sparsify,
    /// the hookpoint folder's name and the run's `config.json` above it).
    /// Where to hook: `--layer`/`--hook` as given, else this dictionary's block; nil when neither says.
    public func hook(layer: String?, hook: String?) -> (layer: String?, hook: String?)? {
        if layer != nil || hook != nil { return (layer, hook) }
        return self.layer.map { ($0, nil) }
    }

    /// A transcoder reads one site and writes another (sparsify's `layers.N` transcoder encodes
    /// the block's input): its layer is never guessed.
    public static func of(_ dictionary: SparseAutoencoder) -> DictionaryModelSite {
        var site = read(dictionary.provenance)
        if dictionary.isTranscoder { site.layer = nil }
        return site
    }

    private static func read(_ provenance: DictionaryProvenance) -> DictionaryModelSite {
        let config = provenance.configPath.flatMap { try? Data(contentsOf: URL(fileURLWithPath: $0)) }
            .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        switch provenance.library {
        case "dictionary_learning": return dictionaryLearning(config: config)
        case "SAELens": return saeLens(config: config)
        case "sparsify":
            let folder = (provenance.weightsPath as NSString).deletingLastPathComponent
            let runConfig = ((folder as NSString).deletingLastPathComponent as NSString).appendingPathComponent("config.json")
            let run = (try? Data(contentsOf: URL(fileURLWithPath: runConfig)))
                .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            return sparsify(hookpoint: (folder as NSString).lastPathComponent, runConfig: run)
        default: return DictionaryModelSite()
        }
    }

    /// dictionary_learning's `config.json`: `trainer.layer` with `buffer.io == "out"` is the
    /// block's output (its `submodule_name` is `layers.N` / `resid_post_layer_N`); an MLP or
    /// attention submodule, or `io` "in", is not a block output and is left to `--hook`.
    /// `buffer.remove_bos` drops the positions holding BOS, which only exist when the training
    /// sequences started with it: such a dictionary gets BOS before a text too.
    static func dictionaryLearning(config: [String: Any]?) -> DictionaryModelSite {
        guard let trainer = config?["trainer"] as? [String: Any] else { return DictionaryModelSite() }
        var site = DictionaryModelSite(model: nonEmpty(trainer["lm_name"] as? String), source: "config.json")
        let submodule = (trainer["submodule_name"] as? String ?? "").lowercased()
        let buffer = config?["buffer"] as? [String: Any]
        let io = buffer?["io"] as? String ?? "out"
        if buffer?["remove_bos"] as? Bool == true { site.prependBOS = "always" }
        if let layer = trainer["layer"] as? Int, layer >= 0, io == "out",
           !["mlp", "attn", "attention"].contains(where: submodule.contains) {
            site.layer = String(layer)
        }
        return site
    }

    /// SAELens' `cfg.json` (keys under `metadata` since 6.x, at the top level before; the hook
    /// was `hook_point` before 1.0):
    /// `blocks.N.hook_resid_post` is block N's output and `blocks.N.hook_resid_pre` block N-1's;
    /// `prepend_bos` says whether TransformerLens put BOS first.
    static func saeLens(config: [String: Any]?) -> DictionaryModelSite {
        guard let config else { return DictionaryModelSite() }
        let metadata = config["metadata"] as? [String: Any] ?? [:]
        func value(_ key: String) -> Any? { metadata[key] ?? config[key] }
        var site = DictionaryModelSite(model: nonEmpty(value("model_name") as? String), source: "cfg.json")
        // `hook_point` before SAELens 1.0.
        if let hook = (value("hook_name") ?? value("hook_point")) as? String { site.layer = blockOutput(transformerLensHook: hook) }
        if let prepend = value("prepend_bos") as? Bool { site.prependBOS = prepend ? "always" : "never" }
        return site
    }

    /// sparsify saves each hookpoint in a folder named after it; `layers.N` is block N's output.
    /// The run's `config.json` names the model.
    static func sparsify(hookpoint: String, runConfig: [String: Any]?) -> DictionaryModelSite {
        var site = DictionaryModelSite(model: nonEmpty(runConfig?["model"] as? String), source: "sparsify hookpoint \(hookpoint)")
        let parts = hookpoint.split(separator: ".")
        if parts.count == 2, parts[0] == "layers", let layer = Int(parts[1]), layer >= 0 { site.layer = String(layer) }
        return site
    }

    /// The block whose output a TransformerLens residual hook reads, or nil for other hooks
    /// (and for `blocks.0.hook_resid_pre`, the embeddings).
    static func blockOutput(transformerLensHook hook: String) -> String? {
        let parts = hook.split(separator: ".")
        guard parts.count == 3, parts[0] == "blocks", let block = Int(parts[1]), block >= 0 else { return nil }
        switch parts[2] {
        case "hook_resid_post": return String(block)
        case "hook_resid_pre": return block > 0 ? String(block - 1) : nil
        default: return nil
        }
    }

    private static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text
    }
}
