import Foundation
import SAECore
import TUI

/// A feature's logit effects (W_dec[f] @ W_U: the tokens it promotes and suppresses) are computed
/// in the background when its detail is shown, once per feature: a D x V product per feature is
/// milliseconds to tens of milliseconds for a real vocabulary, too slow for the UI thread.
extension AppController {
    func requestLogitEffects(for j: Int) {
        guard let unembedding = session.unembedding, model.logits[j] == nil, model.logitsPending != j else { return }
        model.logitsPending = j
        let sae = session.sae
        startJob(kind: "logits", title: "logit effects of feature \(j)", work: { context in
            try LogitEffects.compute(features: [j], sae: sae, unembedding: unembedding, isCancelled: { context.isCancelled })
        }, done: { [weak self] value in
            guard let self, let effects = value as? [FeatureLogitEffects], let first = effects.first else { return }
            self.model.logits[first.feature] = first
            if self.model.logitsPending == first.feature { self.model.logitsPending = nil }
        })
    }

    /// The logit-effect lines for the detail screen: promoted tokens left, suppressed right.
    func logitLines(for j: Int, width: Int) -> [String]? {
        guard session.unembedding != nil else {
            // The model's own LM head is on its way, or how to get one.
            switch model.modelAttachment {
            case .loading: return ["from the model's LM head once it is loaded\u{2026}"]
            case .none(missingEnvironment: true): return ["--unembed W_U [D, V] gives them;", "or make model-env: the LM head"]
            default: return nil
            }
        }
        guard let effects = model.logits[j] else { return ["computing…"] }
        let half = max(8, width / 2)
        return (0..<max(effects.positive.count, effects.negative.count)).map { i in
            func cell(_ list: [TokenEffect]) -> String {
                guard i < list.count else { return "" }
                let token = session.tokenText(Int32(list[i].token)).trimmingCharacters(in: .whitespaces)
                return Text.fit(String(format: "%+.2f ", list[i].value) + token, width: half - 1)
            }
            return cell(effects.positive) + " " + cell(effects.negative)
        }
    }
}
