import Foundation
import SAECore

/// The language model attached to the browser (`open --model M`, or the model the cache's
/// metadata names): the model runs in the bridge's child process, started in the background,
/// so the interface never waits for it.
public enum ModelAttachmentState: Equatable, Sendable {
    /// No model; `missingEnvironment` when one was meant to be attached (the cache names it) but
    /// the model environment is missing: each screen then says `make model-env` in its own words.
    case none(missingEnvironment: Bool)
    case loading(model: String)
    /// Loaded: `description` names the model and its hook site.
    case ready(description: String)
    case failed(String)

    /// Whether CE rows have a place on screen (a model is or was meant to be attached).
    public var isRequested: Bool {
        if case .none(let missingEnvironment) = self { return missingEnvironment }
        return true
    }
}

/// What to attach: the model, its hook site, the patching convention and the tokens evaluated.
public struct ModelRequest: Sendable {
    public var model: String
    public var layer: String?
    public var hook: String?
    public var patchBOS = false
    /// Seconds allowed per request to the model process, model loading included.
    public var timeout: Double = 600
    /// CE is computed over the cache's first `maxTokens` tokens (whole sequences, the last cut).
    public var maxTokens: Int?
    /// Whether the model's LM head becomes the unembedding for logit effects (no --unembed given).
    public var unembeddingFromModel = true
    /// The prefix texts get (`PrependBOS`): the cache's, so typed text matches its sequences.
    public var prependBOS: String?

    /// Tokens the interface evaluates unless --max-tokens says otherwise: the model is slow on a
    /// CPU, and the first 16k tokens give CE to about three digits.
    public static let defaultInterfaceTokens = 16_384

    public init(model: String, layer: String?, hook: String?) {
        self.model = model
        self.layer = layer
        self.hook = hook
    }
}

/// A loaded model the interface asks for CE numbers and its unembedding. The real one wraps a
/// `ModelBridge`; tests give a double.
public protocol ModelLossEngine: AnyObject, Sendable {
    var info: ModelBridge.Info { get }
    func evaluate(_ sae: SparseAutoencoder, cache: ActivationCache, request: ModelRequest, progress: @escaping (Int, Int) -> Void,
                  partial: @escaping (ModelLossMetrics) -> Void, isCancelled: @escaping () -> Bool) throws -> ModelLossMetrics
    func unembedding(dimension: Int) throws -> Unembedding
    /// Which features of `sae` fire on which token of `text` (the text screen): `TextFeatureScan`,
    /// the core code `saescope text` prints, so the screen and the command give the same numbers.
    func scanText(_ text: String, sae: SparseAutoencoder) throws -> TextFeatureScan
    /// Ends the model process at once (from any thread).
    func terminate()
}

/// Starts a model and returns it loaded; `started` gets the child's process id before loading.
public typealias ModelConnector = @Sendable (ModelRequest, _ started: @escaping @Sendable (Int32) -> Void) throws -> ModelLossEngine

/// The model bridge as an engine: one request at a time (CE jobs of both dictionaries share it);
/// a typed text or the unembedding goes between two CE batches instead of after the whole run.
public final class BridgeEngine: ModelLossEngine, @unchecked Sendable {
    private let bridge: ModelBridge
    private let gate = ModelRequestGate()
    private let name: String
    public let info: ModelBridge.Info

    public init(bridge: ModelBridge, name: String) {
        self.bridge = bridge
        self.name = name
        info = bridge.info
    }

    /// Starts `python -m saescope_model serve` from the model environment (`make model-env`).
    public static let connector: ModelConnector = { request, started in
        let environment = try ModelEnvironment.locate()
        let bridge = try ModelBridge(model: request.model, layer: request.layer, hook: request.hook, timeout: request.timeout,
                                     prependBOS: request.prependBOS,
                                     environment: environment, started: started)
        return BridgeEngine(bridge: bridge, name: request.model)
    }

    public func evaluate(_ sae: SparseAutoencoder, cache: ActivationCache, request: ModelRequest, progress: @escaping (Int, Int) -> Void,
                         partial: @escaping (ModelLossMetrics) -> Void, isCancelled: @escaping () -> Bool) throws -> ModelLossMetrics {
        try gate.run(urgent: false) {
            // After each batch's loss the process keeps nothing for the next one: waiting short
            // requests run there.
            try CacheModelLoss.evaluate(sae, cache: cache, bridge: bridge, modelName: name, maxTokens: request.maxTokens,
                                        patchBOS: request.patchBOS, progress: { [gate] done, total in
                                            progress(done, total)
                                            gate.yieldToWaiting()
                                        }, partial: partial, isCancelled: isCancelled)
        }
    }

    public func unembedding(dimension: Int) throws -> Unembedding {
        let head = try gate.run(urgent: true) { try bridge.unembedding() }
        return try Unembedding(head: head.values, vocabularySize: head.vocabularySize, dimension: dimension,
                               source: "the LM head of \(name)")
    }

    public func scanText(_ text: String, sae: SparseAutoencoder) throws -> TextFeatureScan {
        try gate.run(urgent: true) { try TextFeatureScan(text: text, model: bridge, sae: sae) }
    }

    public func terminate() { ChildProcess.terminate(processGroup: bridge.processID) }
}

/// The attachment the controller holds: the request, the model process while it starts (so
/// quitting can end it mid-load), and the engine once loaded.
final class AttachedModel: @unchecked Sendable {
    let request: ModelRequest
    private let lock = NSLock()
    private var startedProcess: Int32?
    private var loaded: ModelLossEngine?
    private var vocabulary: TokenizerVocabulary?

    init(request: ModelRequest) { self.request = request }

    func started(_ pid: Int32) { lock.withLock { startedProcess = pid } }

    var engine: ModelLossEngine? {
        get { lock.withLock { loaded } }
        set { lock.withLock { loaded = newValue } }
    }

    /// The model's own tokenizer (its tokenizer file), for the text screen's tokens: the
    /// cache's tokenizer may be another model's when --model names one.
    var tokenizer: TokenizerVocabulary? {
        get { lock.withLock { vocabulary } }
        set { lock.withLock { vocabulary = newValue } }
    }

    /// Ends the model process, loaded or loading (the child dies with saescope).
    func terminate() {
        let (pid, engine) = lock.withLock { (startedProcess, loaded) }
        engine?.terminate()
        if let pid { ChildProcess.terminate(processGroup: pid) }
    }
}
