import Foundation
import SAECore

/// The model, hook site and prefix a command runs when there is no cache to say: the options
/// given, else what the dictionary's own config names (`DictionaryModelSite`), else a one-line
/// error saying which option to give.
struct DictionarySiteDefaults {
    let sae: String
    let site: DictionaryModelSite
    let python: String?

    init(sae: String, dictionary: SparseAutoencoder, python: String?) {
        self.sae = sae
        self.site = DictionaryModelSite.of(dictionary)
        self.python = python
    }

    struct Resolved {
        var model: String
        var layer: String?
        var hook: String?
        var prependBOS: String
    }

    func resolve(model given: String?, layer: String?, hook: String?, prependBOS: String?) throws -> Resolved {
        guard let model = given ?? site.model else {
            throw SaescopeError("the dictionary's config names no model: give --model M", file: sae)
        }
        guard let hookSite = site.hook(layer: layer, hook: hook) else {
            throw SaescopeError("the dictionary's config names no block output to hook: give --layer L or --hook NAME", file: sae)
        }
        // A model named only by the dictionary must be on this machine (TransformerLens names such
        // as "gpt2-small" are not hub names); one given with --model is the bridge's to check.
        if given == nil, !ModelReference.resolvesLocally(model, python: python) {
            throw SaescopeError("the dictionary's config names the model '\(model)', which is not on this machine: give --model M", file: sae)
        }
        return Resolved(model: model, layer: hookSite.layer, hook: hookSite.hook,
                        prependBOS: prependBOS ?? site.prependBOS ?? "auto")
    }
}
