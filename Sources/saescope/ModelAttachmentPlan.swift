import App
import Foundation
import SAECore

/// What `open` does about a language model: attach the one --model names, or the one the
/// cache's metadata (without a cache: the dictionary's config) names when it is on this
/// machine and the model environment exists; or say in one line why CE loss is not shown
/// (the environment missing: `make model-env`).
enum ModelAttachmentPlan {
    case attach(ModelRequest)
    case state(ModelAttachmentState)

    static func make(options: ModelAttachOptions, disabled: Bool, session: DictionarySession, maxTokens: Int?,
                     unembedGiven: Bool) throws -> ModelAttachmentPlan {
        guard !disabled else { return .state(.none(missingEnvironment: false)) }
        // Without a cache the dictionary's own config says where it reads which model; the model
        // then serves the text screen and logit effects (CE needs the cache's tokens).
        let dictionarySite = session.cache == nil ? DictionaryModelSite.of(session.sae) : nil
        let explicit = options.model
        let named = session.cache.flatMap { $0.metadata["model"].flatMap { $0.isEmpty ? nil : $0 } } ?? dictionarySite?.model
        guard let reference = explicit ?? named else { return .state(.none(missingEnvironment: false)) }
        let environment: ModelEnvironment
        do {
            environment = try ModelEnvironment.locate()
        } catch {
            // Explicitly asked for: a failure on screen; only named by the cache: make model-env, where CE would show.
            return .state(explicit != nil ? .failed("make model-env first (no model environment)")
                                          : .none(missingEnvironment: session.cache != nil))
        }
        if explicit == nil, !ModelReference.resolvesLocally(reference, python: environment.python) { return .state(.none(missingEnvironment: false)) }
        let site: (layer: String?, hook: String?)
        if let cache = session.cache {
            do {
                site = try CacheModelLoss.site(layer: options.layer, hook: options.hook, cache: cache)
            } catch where explicit == nil {
                return .state(.none(missingEnvironment: false))
            }
        } else if let hookSite = dictionarySite?.hook(layer: options.layer, hook: options.hook) {
            site = hookSite
        } else {
            if explicit == nil { return .state(.none(missingEnvironment: false)) }
            throw SaescopeError("neither a cache nor the dictionary's config says where the model is hooked: give --layer L or --hook NAME (or --acts CACHE)",
                                file: session.sae.provenance.configPath ?? session.sae.provenance.weightsPath)
        }
        var request = ModelRequest(model: reference, layer: site.layer, hook: site.hook)
        request.patchBOS = options.patchBOS
        request.timeout = options.modelTimeout
        request.maxTokens = maxTokens ?? ModelRequest.defaultInterfaceTokens
        request.unembeddingFromModel = !unembedGiven
        request.prependBOS = options.prependBOS(cache: session.cache, site: dictionarySite)
        return .attach(request)
    }

    func apply(to controller: AppController) {
        switch self {
        case .attach(let request): controller.attachModel(request)
        case .state(let state): controller.showModelState(state)
        }
    }
}
