import App
import Foundation
import SAECore

/// What `open` does about a language model: attach the one --model names, or the one the
/// cache's metadata names when it is on this machine and the model environment exists; or
/// say in one line why CE loss is not shown (the environment missing: `make model-env`).
enum ModelAttachmentPlan {
    case attach(ModelRequest)
    case state(ModelAttachmentState)

    /// Short enough for the narrowest panel it shows in (38 columns at 80x24).
    static let environmentHint = "CE loss: make model-env first"

    static func make(options: ModelAttachOptions, disabled: Bool, session: DictionarySession, maxTokens: Int?,
                     unembedGiven: Bool) throws -> ModelAttachmentPlan {
        guard !disabled, let cache = session.cache else { return .state(.none(hint: nil)) }
        let explicit = options.model
        guard let reference = explicit ?? cache.metadata["model"].flatMap({ $0.isEmpty ? nil : $0 }) else { return .state(.none(hint: nil)) }
        let environment: ModelEnvironment
        do {
            environment = try ModelEnvironment.locate()
        } catch {
            // Explicitly asked for: a failure on screen; only named by the cache: a hint.
            return .state(explicit != nil ? .failed("make model-env first (no model environment)")
                                          : .none(hint: environmentHint))
        }
        if explicit == nil, !ModelReference.resolvesLocally(reference, python: environment.python) { return .state(.none(hint: nil)) }
        let site: (layer: String?, hook: String?)
        do {
            site = try CacheModelLoss.site(layer: options.layer, hook: options.hook, cache: cache)
        } catch where explicit == nil {
            return .state(.none(hint: nil))
        }
        var request = ModelRequest(model: reference, layer: site.layer, hook: site.hook)
        request.patchBOS = options.patchBOS
        request.timeout = options.modelTimeout
        request.maxTokens = maxTokens ?? ModelRequest.defaultInterfaceTokens
        request.unembeddingFromModel = !unembedGiven
        request.prependBOS = options.prependBOS(cache: cache)
        return .attach(request)
    }

    func apply(to controller: AppController) {
        switch self {
        case .attach(let request): controller.attachModel(request)
        case .state(let state): controller.showModelState(state)
        }
    }
}
