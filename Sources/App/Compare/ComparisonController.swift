import Foundation
import SAECore
import TUI
import Widgets

/// What the compare screen's keys (and `c` on the features screen) ask for.
public enum CompareAction: Equatable, Sendable {
    /// Open the compare screen, starting B's index and the matching if they are not there yet.
    case show
    case cycleOrder, switchFocus, open
}

/// The comparison's part of the controller: attaching B, its background jobs, and the compare
/// screen's keys.
extension AppController {
    /// Adds dictionary B. With `start` (for `open --sae2`) B's index and the matching start now and
    /// the compare screen opens; otherwise both wait for the first `c`, so a browser that never
    /// compares (the bundled sample's second dictionary) costs nothing.
    public func attachComparison(_ other: DictionarySession, indexState: DictionarySession.IndexState, start: Bool) {
        var state = ComparisonState(other: other)
        state.launchIndexOptions = model.indexOptions
        switch indexState {
        case .loaded(let index):
            state.launchIndexOptions = index.options
            // Metrics side by side mean something only over the same tokens as A's index.
            if let cache = other.cache,
               index.provenance.firstRow..<index.provenance.endRow != FeatureIndexBuilder.rowRange(cache: cache, options: model.indexOptions) {
                state.pendingIndexBuild = "its index covers other tokens than A's"
            } else {
                state.index = index
            }
        case .needsBuild(let reason):
            state.pendingIndexBuild = reason
        }
        model.comparison = state
        if start { performCompare(.show) }
    }

    func performCompare(_ action: CompareAction) {
        guard var view = model.comparison?.view else {
            setMessage("no second dictionary to compare with (saescope open --sae A --acts X --sae2 B)", isError: true)
            return
        }
        switch action {
        case .show:
            startComparisonWork()
            show(.compare)
        case .cycleOrder:
            let next = view.order.next
            setCompareOrder(next)
            setMessage("order: \(next.label)", isError: false)
        case .switchFocus:
            guard view.zoomed == nil else { return }
            view.focus = view.focus == .a ? .b : .a
            model.comparison?.view = view
        case .open:
            if let k = view.zoomed {
                // Enter on B's exemplar under the cursor: its whole sequence, encoded with B.
                guard let index = model.comparison?.index,
                      let selected = Self.selectedExemplar(cursor: view.zoomExemplar, lines: exemplarLines(for: k, index: index)) else {
                    setMessage("B's feature \(k) has no exemplars to open", isError: false)
                    return
                }
                openSequence(feature: k, row: selected.exemplar.row, dictionary: .compared, returnDetail: nil, returnCompare: view)
                return
            }
            switch view.focus {
            case .a:
                if let j = view.selectedA { openFeature(j) }
            case .b:
                guard let j = view.selectedA, let state = model.comparison else { return }
                let rows = state.matchRows(for: j)
                guard !rows.isEmpty else { return }
                view.zoomed = rows[min(max(view.matches.selected, 0), rows.count - 1)].feature
                view.zoomScroll = 0
                view.zoomExemplar = 0
                model.comparison?.view = view
            }
        }
    }

    /// j/k, pages, g/G: the focused list, or the zoomed feature's exemplar cursor.
    func moveCompare(_ command: Command) {
        guard let state = model.comparison else { return }
        var view = state.view
        if let k = view.zoomed {
            guard let index = state.index else { return }
            Self.moveExemplarCursor(command, cursor: &view.zoomExemplar, scroll: &view.zoomScroll,
                                    lines: exemplarLines(for: k, index: index), rows: view.zoomPage)
        } else if view.focus == .a {
            let before = view.selectedA
            moveTable(&view.list, command, rowCount: view.rows.count, page: view.listPage)
            // A new A feature starts at its best match.
            if view.selectedA != before { view.matches = TableState() }
        } else {
            let count = view.selectedA.map { state.matchRows(for: $0).count } ?? 0
            moveTable(&view.matches, command, rowCount: count, page: view.matchPage)
        }
        model.comparison?.view = view
    }

    /// Reorders A's list, keeping the cursor on its feature when that feature is still listed.
    func setCompareOrder(_ order: CompareOrder) {
        guard var view = model.comparison?.view else { return }
        let keep = view.selectedA
        view.order = order
        let index = model.includeDeadInRankings ? nil : model.index
        view.rows = model.comparison?.result.map { order.rows($0.matching.aToB) { index?.isDead($0) ?? false } } ?? []
        if let keep, let position = view.rows.firstIndex(of: keep) {
            view.list.selected = position
        } else {
            view.list.selected = 0
            view.matches = TableState()
        }
        model.comparison?.view = view
    }

    // MARK: Jobs

    /// Starts whatever the compare screen still lacks and is not already being computed: the
    /// matching, and B's index when it is missing or stale. A failed or cancelled job is retried.
    func startComparisonWork() {
        guard let state = model.comparison else { return }
        ensureWeightMetrics()
        ensureComparedWeightMetrics()
        // (Job ids are taken before they are stored: startJob itself writes to the model.)
        if state.result == nil, !isRunning(state.compareJob) {
            let id = startMatchingJob(other: state.other)
            model.comparison?.compareJob = id
        }
        if let reason = state.pendingIndexBuild, !isRunning(state.indexJob), let cache = state.other.cache {
            let options = model.indexOptions
            let path = comparedIndexFile(for: options, state)
            if let index = state.index, state.partial == nil, state.indexBeforeRebuild == nil {
                model.comparison?.indexBeforeRebuild = index
            }
            // Following A to settings used before: their saved index of B, if there is one.
            if state.index != nil, let saved = state.other.savedIndex(at: path, options: options) {
                showComparedIndex(saved)
                setMessage("index of \(state.other.name) for \(Self.settingsText(options)) read from \(path)", isError: false)
                return
            }
            let id = startJob(
                kind: "index B", title: IndexJob.title(state.other, cache: cache, options: options),
                work: IndexJob.work(session: state.other, cache: cache, options: options, steps: progressiveSteps, path: path),
                partial: { [weak self] value in
                    // A may have gone back to other settings meanwhile (a cancelled re-index): then B's
                    // build still finishes and is saved, but is not shown beside A.
                    guard let self, let update = value as? PartialIndex, options.sameSettings(as: self.model.indexOptions) else { return }
                    self.model.comparison?.index = update.index
                    self.model.comparison?.partial = (update.done, update.of)
                },
                done: { [weak self] value in
                    guard let self, let built = value as? BuiltIndex else { return }
                    guard options.sameSettings(as: self.model.indexOptions) else {
                        self.setMessage("index of \(state.other.name) for \(Self.settingsText(options)) saved to \(built.path); A shows other settings",
                                        isError: false)
                        self.startComparisonWork()
                        return
                    }
                    self.showComparedIndex(built.index)
                    self.setMessage(built.writeError.map { "index of \(state.other.name) built but not saved: \($0)" }
                                    ?? "index of \(state.other.name) complete: \(NumberFormat.count(built.index.tokenCount)) tokens",
                                    isError: built.writeError != nil)
                })
            model.comparison?.indexJob = id
            setMessage("indexing \(state.other.name) in the background (\(reason)); J shows jobs", isError: false)
        }
    }

    /// The file B's index with `options` is kept in: its launch file, or a variant named by the settings.
    private func comparedIndexFile(for options: FeatureIndexOptions, _ state: ComparisonState) -> String {
        options.sameSettings(as: state.launchIndexOptions) ? state.other.indexPath : state.other.variantIndexPath(for: options)
    }

    /// B's complete index, at A's settings, replaces whatever B showed.
    private func showComparedIndex(_ index: FeatureIndex) {
        model.comparison?.index = index
        model.comparison?.partial = nil
        model.comparison?.pendingIndexBuild = nil
        model.comparison?.indexBeforeRebuild = nil
    }

    /// After A's re-index was cancelled (A is back to its complete index): B shows its complete
    /// index of the same settings again. B's own rebuild, if running, is left to finish (it is
    /// saved for those settings); cancelling a job cancels that job only.
    func restoreComparedIndex() {
        guard let state = model.comparison else { return }
        let options = model.indexOptions
        if let index = state.index, state.partial == nil, index.options.sameSettings(as: options) { return }
        if let before = state.indexBeforeRebuild, before.options.sameSettings(as: options) {
            showComparedIndex(before)
            return
        }
        model.comparison?.pendingIndexBuild = "\(session.name) is back to \(Self.settingsText(options))"
        if state.result != nil || state.compareJob != nil { startComparisonWork() }
    }

    /// B's own build was cancelled or failed: its complete index from before comes back.
    func comparedIndexBuildEnded() {
        guard let state = model.comparison else { return }
        model.comparison?.indexJob = nil
        if let before = state.indexBeforeRebuild, before.options.sameSettings(as: model.indexOptions) {
            model.comparison?.index = before
            model.comparison?.partial = nil
            model.comparison?.indexBeforeRebuild = nil
        }
    }

    /// Decoder matching both ways and the one-to-one assignment, as `saescope compare` computes them.
    private func startMatchingJob(other: DictionarySession) -> JobCenter.ID {
        let a = session, b = other
        return startJob(kind: "compare", title: "compare \(a.name) (F=\(a.sae.featureCount)) with \(b.name) (F=\(b.sae.featureCount))", work: { context in
            let result = try DictionaryComparison.compute(
                a.sae, pathA: a.saePath, b.sae, pathB: b.saePath,
                progress: { done, total in
                    // The assignment that follows the last block reports nothing: say so.
                    if done < total {
                        context.progress(Double(done) / Double(total), "matched \(done) / \(total) decoder rows of A")
                    } else {
                        context.progress(nil, "assigning features one to one")
                    }
                },
                isCancelled: { context.isCancelled })
            if context.isCancelled { throw SaescopeError("cancelled") }
            return result
        }, done: { [weak self] value in
            guard let self, let result = value as? DictionaryComparison else { return }
            self.model.comparison?.result = result
            self.setCompareOrder(self.model.comparison?.view.order ?? .best)
            self.setMessage(String(format: "matched %@ with %@: %d pairs, mean cosine %.3f (%.1f s)", a.name, b.name,
                                   result.assignment.pairs.count, result.assignment.meanCosine,
                                   result.matchingSeconds + result.assignmentSeconds), isError: false)
        })
    }

    private func isRunning(_ id: JobCenter.ID?) -> Bool {
        guard let id else { return false }
        return jobs.snapshot.contains { $0.id == id && $0.state == .running }
    }

    /// Starts computing the activation agreement of the assigned pairs once both indexes are
    /// complete (and again if either changes); it reads every pair's top exemplars, seconds on a
    /// large dictionary, so it runs as a job. Called when the screen is drawn: A's index arrives
    /// through the browser's own job handler, which knows nothing of comparisons.
    func refreshAgreement() {
        guard let state = model.comparison, let result = state.result, let indexA = model.index, model.partial == nil,
              let indexB = state.index, state.partial == nil else { return }
        let key = [indexA.provenance, indexB.provenance].map { "\($0.saeFingerprint)|\($0.cacheFingerprint)|\($0.firstRow)..<\($0.endRow)" }
            .joined(separator: " / ") + " \(indexA.options.topK) \(indexB.options.topK)"
        guard key != state.agreementKey else { return }
        model.comparison?.agreementKey = key
        model.comparison?.agreement = nil
        let pathA = session.indexPath, pathB = state.other.indexPath
        startJob(kind: "agreement", title: "top-exemplar overlap of \(NumberFormat.count(result.assignment.pairs.count)) pairs", work: { context in
            context.progress(nil, "reading top exemplars")
            // Indexes over different caches or rows have nothing to agree on: no figure rather than a wrong one.
            return (try? ActivationAgreement.compute(assignment: result.assignment, indexA: indexA, pathA: pathA, indexB: indexB, pathB: pathB,
                                                     thresholds: result.options.thresholds)) as Any
        }, done: { [weak self] value in
            guard let self, self.model.comparison?.agreementKey == key else { return }
            self.model.comparison?.agreement = value as? ActivationAgreement
        })
    }
}
