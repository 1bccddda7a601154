import Foundation
import SAECore
import TUI
import Widgets

/// Where the text screen's keys go: the field (typing), the token row (Left/Right between
/// tokens, j/k through the features at the token), or the features over the whole text.
public enum TextFocus: Equatable, Sendable {
    case field, tokens, features
}

/// How the features over the whole text are ordered (`s` steps, `S` reverses).
public enum TextFeatureSort: String, CaseIterable, Sendable {
    /// Highest activation over the text; how many tokens it fires on; its first firing token; id.
    case max, tokens, first, id

    var defaultDescending: Bool { self == .max || self == .tokens }
}

/// One feature over the whole text: its highest activation and where (the first token holding
/// it), and how many tokens it fires on.
public struct TextFeatureSummary: Equatable, Sendable {
    public var feature: Int
    public var max: Float
    public var position: Int
    public var tokens: Int
}

/// A scored text as the screen shows it: the scan (`TextFeatureScan`, the same core code as
/// `saescope text`), every token's text, and every active feature's summary, all made in the
/// background job.
public struct TextScreenResult: @unchecked Sendable {
    public let text: String
    public let scan: TextFeatureScan
    public let tokenTexts: [String]
    /// Every feature active on some token, highest maximum first (ties: lower id first).
    public let summaries: [TextFeatureSummary]
    /// Tokens per window, the prefix included (the model's context).
    public let context: Int
    /// From Enter to the scan's arrival on the UI thread (the next frame shows it).
    public var milliseconds: Double = 0

    init(text: String, scan: TextFeatureScan, tokenText: (Int32) -> String, context: Int) {
        self.text = text
        self.scan = scan
        self.context = context
        tokenTexts = scan.tokens.map(tokenText)
        var byFeature: [Int: TextFeatureSummary] = [:]
        for t in scan.tokens.indices {
            for (feature, value) in scan.features(at: t) {
                if var summary = byFeature[feature] {
                    summary.tokens += 1
                    if value > summary.max { summary.max = value; summary.position = t }
                    byFeature[feature] = summary
                } else {
                    byFeature[feature] = TextFeatureSummary(feature: feature, max: value, position: t, tokens: 1)
                }
            }
        }
        summaries = byFeature.values.sorted { $0.max != $1.max ? $0.max > $1.max : $0.feature < $1.feature }
    }

    /// The summaries in the order the list shows.
    func sorted(by key: TextFeatureSort, descending: Bool) -> [TextFeatureSummary] {
        func less(_ a: TextFeatureSummary, _ b: TextFeatureSummary) -> Bool {
            switch key {
            case .max: return a.max != b.max ? a.max < b.max : a.feature > b.feature
            case .tokens: return a.tokens != b.tokens ? a.tokens < b.tokens : (a.max != b.max ? a.max < b.max : a.feature > b.feature)
            case .first: return a.position != b.position ? a.position < b.position : (a.max != b.max ? a.max > b.max : a.feature < b.feature)
            case .id: return a.feature < b.feature
            }
        }
        return summaries.sorted { descending ? less($1, $0) : less($0, $1) }
    }
}

/// The text screen's state; it stays while other screens are shown, so `q` from a feature
/// opened here comes back to the same text.
public struct TextScreenState {
    /// The text being typed (edited as the prompts are; history under `.text`).
    public var field = Prompt(kind: .text, text: "")
    public var focus: TextFocus = .field
    /// The feature shading the tokens: the one the screen was opened on, or the row under the
    /// cursor of the list last moved in (nil: the first over the text).
    public var feature: Int?
    public var result: TextScreenResult?
    /// The scoring job running.
    public var job: JobCenter.ID?
    /// Enter was pressed while the model loaded: the text goes once it is ready.
    public var waitingForModel = false
    /// The token under the caret.
    public var cursor = 0
    public var tokenFeatures = TableState()
    public var textFeatures = TableState()
    public var sort = TextFeatureSort.max
    public var descending = true
    /// The features over the text in the order listed (from `result` and the sort).
    public var rows: [TextFeatureSummary] = []
    /// First wrapped line of tokens shown.
    public var scroll = 0

    public init() {}

    /// The features active at the token under the caret, highest first.
    public var featuresAtCursor: [(feature: Int, value: Float)] {
        guard let result, cursor < result.scan.tokens.count else { return [] }
        return result.scan.features(at: cursor)
    }

    /// The feature shading the tokens.
    public var selectedFeature: Int? { feature ?? rows.first?.feature }
}

extension AppController {
    func performText(_ command: TextScreenCommand) {
        switch command {
        case .show: showTextScreen()
        case .editText: model.text.focus = .field
        case .nextFocus: cycleTextFocus(forward: true)
        case .previousFocus: cycleTextFocus(forward: false)
        case .send: sendText()
        case .recallEarlier: model.text.field.recall(-1, from: model.promptHistory[.text] ?? [])
        case .recallLater: model.text.field.recall(1, from: model.promptHistory[.text] ?? [])
        case .leaveField:
            if model.text.result != nil { model.text.focus = .tokens } else { goBack(quitOnTab: false) }
        case .previousToken: moveTextCursor(to: model.text.cursor - 1)
        case .nextToken: moveTextCursor(to: model.text.cursor + 1)
        case .maxToken:
            if let j = model.text.selectedFeature, let at = model.text.result?.scan.maxActivation(of: j).position { moveTextCursor(to: at) }
        case .openFeature: openTextFeature()
        case .nextSort:
            let all = TextFeatureSort.allCases
            let next = all[(all.firstIndex(of: model.text.sort)! + 1) % all.count]
            setTextSort(next, descending: next.defaultDescending)
        case .reverseSort: setTextSort(model.text.sort, descending: !model.text.descending)
        case .cancel:
            guard let job = model.text.job else { setMessage("no text is being scored", isError: false); return }
            jobs.cancel(job)
        }
    }

    /// `i`: the text screen, its field ready for typing; from a feature's detail (or a sequence
    /// drill-down) with that feature selected. Opened again from a feature
    /// reached from it, it goes back to it rather than stacking a second one.
    func showTextScreen() {
        let feature: Int?
        switch model.screen {
        case .detail: feature = model.detail.feature
        case .sequence: feature = model.sequences.last.flatMap { $0.dictionary == .browsed ? $0.feature : nil }
        default: feature = nil
        }
        if model.screen != .text {
            if model.previousScreens.contains(.text) {
                while model.screen != .text, !model.previousScreens.isEmpty { goBack(quitOnTab: false) }
            } else {
                show(.text)
            }
        }
        model.text.focus = .field
        if let feature { selectTextFeature(feature) }
    }

    /// Makes `j` the feature shading the tokens, the caret on its highest token when it fires.
    func selectTextFeature(_ j: Int) {
        model.text.feature = j
        if let position = model.text.rows.firstIndex(where: { $0.feature == j }) { model.text.textFeatures.selected = position }
        if let at = model.text.result?.scan.maxActivation(of: j).position { moveTextCursor(to: at) }
    }

    private func cycleTextFocus(forward: Bool) {
        let order: [TextFocus] = [.field, .tokens, .features]
        let i = order.firstIndex(of: model.text.focus)!
        model.text.focus = order[(i + (forward ? 1 : order.count - 1)) % order.count]
    }

    private func moveTextCursor(to position: Int) {
        guard let result = model.text.result else { return }
        model.text.cursor = min(max(0, position), result.scan.tokens.count - 1)
        model.text.tokenFeatures = TableState()
    }

    private func setTextSort(_ key: TextFeatureSort, descending: Bool) {
        model.text.sort = key
        model.text.descending = descending
        refreshTextRows()
        setMessage("features over the text by \(key.rawValue) \(descending ? "desc" : "asc")", isError: false)
    }

    /// Lists the features over the text in the sort's order, the cursor kept on its feature.
    private func refreshTextRows() {
        let keep = model.text.rows.isEmpty ? nil : model.text.rows[min(model.text.textFeatures.selected, model.text.rows.count - 1)].feature
        model.text.rows = model.text.result?.sorted(by: model.text.sort, descending: model.text.descending) ?? []
        let target = model.text.feature ?? keep
        model.text.textFeatures.selected = target.flatMap { j in model.text.rows.firstIndex { $0.feature == j } } ?? 0
    }

    /// j/k and the page keys: through the features at the token, or over the text; the row
    /// under the cursor becomes the feature shading the tokens.
    func moveTextLists(_ command: Command) {
        switch model.text.focus {
        case .field:
            return
        case .tokens:
            let features = model.text.featuresAtCursor
            moveTable(&model.text.tokenFeatures, command, rowCount: features.count, page: layout.listRows)
            if !features.isEmpty { model.text.feature = features[min(model.text.tokenFeatures.selected, features.count - 1)].feature }
        case .features:
            let rows = model.text.rows
            moveTable(&model.text.textFeatures, command, rowCount: rows.count, page: layout.listRows)
            if !rows.isEmpty { model.text.feature = rows[min(model.text.textFeatures.selected, rows.count - 1)].feature }
        }
    }

    /// Enter off the field: the feature under the cursor of the focused list, in its detail.
    private func openTextFeature() {
        switch model.text.focus {
        case .field:
            sendText()
        case .tokens:
            let features = model.text.featuresAtCursor
            guard !features.isEmpty else { setMessage("no feature fires on this token", isError: false); return }
            openFeature(features[min(model.text.tokenFeatures.selected, features.count - 1)].feature)
        case .features:
            let rows = model.text.rows
            guard !rows.isEmpty else { setMessage("no feature fires on the text", isError: false); return }
            openFeature(rows[min(model.text.textFeatures.selected, rows.count - 1)].feature)
        }
    }

    /// A key while the field has the focus: the field's keys (Enter sends, Tab leaves, Up and
    /// Down recall earlier texts), the rest edit the text. An Enter or Tab inside a paste (more
    /// keys follow in the same read) is a line break or tab of the text.
    func editTextField(_ key: Key, moreFollow: Bool) {
        model.message = nil
        if key == .enter && moreFollow { model.text.field.insert("\n"); return }
        if key == .tab && moreFollow { model.text.field.insert("\t"); return }
        if let command = Keymaps.textField.command(for: key) { perform(command); return }
        var field = model.text.field
        switch key {
        case .backspace, .ctrl("h"): field.deleteBackward()
        case .delete, .ctrl("d"): field.deleteForward()
        case .left, .ctrl("b"): field.moveCursor(by: -1)
        case .right, .ctrl("f"): field.moveCursor(by: 1)
        case .home, .ctrl("a"): field.moveCursorToStart()
        case .end, .ctrl("e"): field.moveCursorToEnd()
        case .ctrl("u"): field.deleteToStart()
        case .ctrl("k"): field.deleteToEnd()
        case .ctrl("w"): field.deleteWordBackward()
        case .char(let c): field.insert(c)
        default: break
        }
        model.text.field = field
    }

    /// Enter: the field's text to the attached model as a background job (a newer text replaces
    /// a running one); what is wrong instead, in one line, when there is nothing to send or no
    /// model to send it to.
    func sendText() {
        let text = model.text.field.text
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            setMessage("the text is empty: type a sentence, then Enter (nothing was sent)", isError: true)
            return
        }
        guard let attached = attachedModel, let engine = attached.engine else {
            if case .loading = model.modelAttachment {
                model.text.waitingForModel = true
                rememberText(text)
                setMessage("the model is still loading: the text goes as soon as it is ready (J: jobs)", isError: false)
            } else {
                setMessage(noTextModelLine, isError: true)
            }
            return
        }
        // The "still loading" notice of a text that waited for the model is stale now.
        if model.text.waitingForModel, model.message?.isError == false { model.message = nil }
        model.text.waitingForModel = false
        rememberText(text)
        let sae = session.sae
        let session = self.session
        let context = engine.info.contextLength ?? TextFeatureScan.fallbackContext
        let started = uptimeNanoseconds()
        let id = startJob(kind: "text", title: "score text (\(text.count) characters)", work: { jobContext in
            jobContext.progress(nil, "running the model")
            let scan = try engine.scanText(text, sae: sae)
            if jobContext.isCancelled { throw SaescopeError("cancelled") }
            let tokenizer = attached.tokenizer
            return UncheckedBox(TextScreenResult(text: text, scan: scan, tokenText: { id in
                tokenizer.map { $0.piece(Int(id)) } ?? session.tokenText(id)
            }, context: context))
        }, done: { [weak self] value in
            guard let self, var result = (value as? UncheckedBox<TextScreenResult>)?.value else { return }
            result.milliseconds = Double(self.uptimeNanoseconds() &- started) / 1e6
            self.textScored(result)
        })
        model.text.job = id
        if modelBusyWithLoss {
            setMessage("the model answers one request at a time: the text is scored after the CE job's current batch", isError: false)
        }
    }

    /// Why Enter cannot score text, in one line saying how to get a model.
    var noTextModelLine: String {
        switch model.modelAttachment {
        case .none(missingEnvironment: false): return "no model attached (saescope open --model M): the text screen runs the model on the text"
        case .none(missingEnvironment: true): return "no model environment for the text screen: make model-env first"
        case .loading: return "the model is still loading (J: jobs)"
        case .failed(let message): return "model: " + message
        case .ready: return "the model is not ready"
        }
    }

    private func rememberText(_ text: String) {
        var lines = model.promptHistory[.text] ?? []
        if lines.last != text { lines.append(text) }
        model.promptHistory[.text] = Array(lines.suffix(Self.promptHistoryLimit))
        model.text.field = Prompt(kind: .text, text: text)
    }

    /// A scan arrived: shown with the selected feature (or the first over the text), the caret
    /// on that feature's highest token; a text longer than the context is said once.
    private func textScored(_ result: TextScreenResult) {
        model.text.job = nil
        model.text.result = result
        model.text.scroll = 0
        model.text.cursor = 0
        model.text.tokenFeatures = TableState()
        model.text.textFeatures = TableState()
        refreshTextRows()
        if let j = model.text.selectedFeature { selectTextFeature(j) }
        // The tokens take the focus, unless a next text is being typed meanwhile.
        if model.text.focus == .field, model.text.field.text == result.text { model.text.focus = .tokens }
        let scan = result.scan
        if scan.windows.count > 1 {
            setMessage("the text's \(scan.tokens.count) tokens are longer than the model's context of \(result.context): scored in \(scan.windows.count) windows that each see only their own tokens", isError: false)
        }
    }

    /// The scoring job failed (the model process died, say) or was cancelled: one line on the
    /// status line (`handleJobEvents` put the failure there), the screen as it was.
    func textJobEnded(_ id: JobCenter.ID, failure: String?) {
        if id == model.text.job {
            model.text.job = nil
            setMessage(failure.map { "scoring the text failed: " + $0 } ?? "scoring the text was cancelled", isError: failure != nil)
        } else if model.text.waitingForModel, case .failed = model.modelAttachment {
            model.text.waitingForModel = false
        }
    }
}
