import Foundation
import SAECore
import Widgets

/// Which dictionary a CE computation is for: the browser's own (A) or the compared one (B).
public enum ModelLossSide: String, Sendable {
    case a = "A", b = "B"
}

/// Where a dictionary's CE numbers stand.
public enum ModelLossStatus {
    case running(partial: ModelLossMetrics?)
    case done(ModelLossMetrics)
    case failed(String)
    case cancelled

    /// The numbers to show (partial ones while the job runs).
    public var metrics: ModelLossMetrics? {
        switch self {
        case .running(let partial): partial
        case .done(let metrics): metrics
        case .failed, .cancelled: nil
        }
    }
}

/// The attached model's life in the interface: it loads as a background job; once ready, each
/// dictionary's CE loss (eval --model's numbers, over the cache's first tokens) is computed as a
/// job of its own, with progress, partial results and cancel (jobs screen); the model's LM head
/// becomes the unembedding for logit effects when --unembed gave none.
extension AppController {
    /// Starts loading `request`'s model (`connect`: the bridge, or a test's double). Without a
    /// cache it serves the text screen and logit effects; CE needs the cache's tokens.
    public func attachModel(_ request: ModelRequest, connect: @escaping ModelConnector = BridgeEngine.connector) {
        let attached = AttachedModel(request: request)
        attachedModel = attached
        model.modelAttachment = .loading(model: request.model)
        let wantsUnembedding = request.unembeddingFromModel && session.unembedding == nil
        let dimension = session.sae.inputDimension
        startJob(kind: "model", title: "load model \(request.model)", work: { context in
            context.progress(nil, "starting the model process")
            let engine = try connect(request, { pid in attached.started(pid) })
            attached.engine = engine
            if context.isCancelled { engine.terminate(); throw SaescopeError("cancelled") }
            // The text screen shows typed text's tokens with the model's own tokenizer.
            attached.tokenizer = engine.info.tokenizerFile.flatMap { try? TokenizerVocabulary(path: $0) }
            var unembedding: Result<Unembedding, Error>?
            if wantsUnembedding { unembedding = Result { try engine.unembedding(dimension: dimension) } }
            return UncheckedBox((engine, unembedding))
        }, done: { [weak self] value in
            guard let self, let (engine, unembedding) = (value as? UncheckedBox<(ModelLossEngine, Result<Unembedding, Error>?)>)?.value else { return }
            self.modelReady(engine, unembedding: unembedding)
        })
    }

    /// No model to load: why (a hint or a failure) for the screens that show CE numbers.
    public func showModelState(_ state: ModelAttachmentState) {
        model.modelAttachment = state
    }

    /// The model process's end, loaded or loading: when the interface quits.
    public func detachModel() {
        attachedModel?.terminate()
    }

    private func modelReady(_ engine: ModelLossEngine, unembedding: Result<Unembedding, Error>?) {
        let info = engine.info
        model.modelAttachment = .ready(description: "\(Self.shortModelName(info.model)) \(info.site)")
        switch unembedding {
        case .success(let unembedding)?:
            session.unembedding = unembedding
            model.logits = [:]
            if let tokenizer = session.tokenizer {
                do {
                    if let warning = try unembedding.checkVocabulary(against: tokenizer) { setMessage(warning, isError: false) }
                } catch {
                    session.unembedding = nil
                    setMessage("logit effects: \((error as? SaescopeError)?.message ?? String(describing: error))", isError: true)
                }
            }
            if model.screen == .detail { requestLogitEffects(for: model.detail.feature) }
        case .failure(let error)?:
            setMessage("the model's unembedding: \((error as? SaescopeError)?.message ?? String(describing: error))", isError: true)
        case nil:
            break
        }
        // A text sent while the model loaded goes first: CE jobs hold the model for long.
        if model.text.waitingForModel { sendText() }
        computeModelLoss(.a)
        if model.comparison != nil { computeModelLoss(.b) }
    }

    /// Starts (or restarts) the CE job of one side; nothing without a loaded model.
    func computeModelLoss(_ side: ModelLossSide) {
        guard let attached = attachedModel, let engine = attached.engine else { return }
        let target = side == .a ? session : model.comparison?.other
        guard let target, let cache = target.cache else { return }
        let sae = target.sae, request = attached.request
        let title = "CE loss of \(side.rawValue) \(target.name) with \(Self.shortModelName(request.model))"
        model.modelLoss[side] = .running(partial: nil)
        let id = startJob(kind: "model loss \(side.rawValue)", title: title, work: { context in
            let metrics = try engine.evaluate(
                sae, cache: cache, request: request,
                progress: { done, total in
                    context.progress(total > 0 ? Double(done) / Double(total) : nil, "\(NumberFormat.count(done)) / \(NumberFormat.count(total)) sequences")
                },
                partial: { context.partial(UncheckedBox($0)) }, isCancelled: { context.isCancelled })
            return UncheckedBox(metrics)
        }, partial: { [weak self] value in
            guard let self, let metrics = (value as? UncheckedBox<ModelLossMetrics>)?.value,
                  case .running = self.model.modelLoss[side] else { return }
            self.model.modelLoss[side] = .running(partial: metrics)
        }, done: { [weak self] value in
            guard let self, let metrics = (value as? UncheckedBox<ModelLossMetrics>)?.value else { return }
            self.model.modelLoss[side] = .done(metrics)
        })
        model.modelLossJobs[id] = side
    }

    /// A CE or model job failed or was cancelled (from `handleJobEvents`).
    func modelJobEnded(_ id: JobCenter.ID, failure: String?) {
        if let side = model.modelLossJobs.removeValue(forKey: id) {
            model.modelLoss[side] = failure.map { .failed($0) } ?? .cancelled
        } else if case .loading = model.modelAttachment, jobs.snapshot.first(where: { $0.id == id })?.kind == "model" {
            model.modelAttachment = .failed(failure ?? "loading the model was cancelled")
            attachedModel?.terminate()
        }
    }

    /// `:ce`: CE loss again for every dictionary shown (after a cancel, say).
    func recomputeModelLoss() {
        guard attachedModel?.engine != nil else {
            setMessage(modelAttachmentLine ?? "no model attached (saescope open --model M)", isError: true)
            return
        }
        guard session.cache != nil else {
            setMessage("CE loss runs the model on the cache's tokens: saescope open --acts CACHE", isError: true)
            return
        }
        computeModelLoss(.a)
        if model.comparison != nil { computeModelLoss(.b) }
    }

    /// One line on where the model stands, for the screens that show CE numbers; nil when no
    /// model is wanted.
    var modelAttachmentLine: String? {
        switch model.modelAttachment {
        // Short enough for the narrowest panel it shows in (38 columns at 80x24).
        case .none(missingEnvironment: true): return "CE loss: make model-env first"
        case .none: return nil
        case .loading(let name): return "loading \(Self.shortModelName(name))\u{2026} (J: jobs)"
        case .ready(let description): return description
        case .failed(let message): return "model: " + message
        }
    }

    /// A model reference as titles show it: a path's last component.
    static func shortModelName(_ reference: String) -> String {
        let trimmed = reference.hasSuffix("/") ? String(reference.dropLast()) : reference
        if trimmed.hasPrefix("/") || trimmed.hasPrefix(".") || trimmed.hasPrefix(ModelReference.packagePrefix) {
            return (trimmed as NSString).lastPathComponent
        }
        return trimmed
    }
}
