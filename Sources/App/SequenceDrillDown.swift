import SAECore
import TUI
import Widgets

/// Which dictionary a sequence drill-down shows: the one browsed (A), or the compared one (B,
/// opened from B's feature at full size on the compare screen; same cache and tokenizer).
public enum SequenceDictionary: Equatable, Sendable {
    case browsed, compared
}

/// An exemplar's whole sequence from the activation cache: every token shaded by the feature's
/// activation, a cursor on one token, and the features that fire there. The sequence's rows are
/// encoded in the background when it opens (saescope's own encoder, the one the index used) and
/// kept while the screen is open; until then the tokens show unshaded and "encoding…".
public struct SequenceState {
    /// The feature whose activation shades the tokens, and the sequence (of the cache).
    public var feature: Int
    public var sequence: Int
    public var dictionary: SequenceDictionary = .browsed
    /// The sequence's rows of the cache.
    public var rows: Range<Int>
    public var tokens: [Int32]
    /// The position (in the sequence) of the exemplar's row, and of the token cursor.
    public var firing: Int
    public var cursor: Int
    /// Every row's nonzero codes, by position in the sequence (nil while the encode job runs).
    public var codes: LatentCodes?
    /// Positions whose cached activations are not finite: the index skipped them, nothing is shown.
    public var nonFinite: Set<Int> = []
    /// The background job encoding the rows.
    public var encodeJob: JobCenter.ID?
    /// The side pane's list of the features at the cursor.
    public var featureTable = TableState()
    /// First wrapped line shown.
    public var scroll = 0
    /// The detail screen this was opened from, put back on leaving (nil: opened from a list).
    public var returnDetail: DetailState?
    /// The compare screen's cursors (B's feature at full size) when opened from there.
    public var returnCompare: CompareViewState?

    /// Feature `j`'s activation at position `p` (0 where it did not fire, or before the encode).
    public func activation(of j: Int, at p: Int) -> Float {
        codes?.value(of: j, row: p) ?? 0
    }

    /// The features active at position `p`, highest activation first (ties: lower id first).
    public func features(at p: Int) -> [(feature: Int, value: Float)] {
        guard let codes, !nonFinite.contains(p) else { return [] }
        return codes.ranked(row: p)
    }
}

extension AppController {
    func performSequence(_ command: SequenceCommand) {
        switch command {
        case .open: openSelectedExemplarSequence()
        case .openTopExemplar: openListedFeatureSequence()
        case .previousToken: moveTokenCursor { $0.cursor - 1 }
        case .nextToken: moveTokenCursor { $0.cursor + 1 }
        case .firingToken: moveTokenCursor { $0.firing }
        case .openFeature:
            guard let state = model.sequences.last else { return }
            let features = state.features(at: state.cursor)
            guard !features.isEmpty else { return }
            let j = features[min(max(0, state.featureTable.selected), features.count - 1)].feature
            if state.dictionary == .compared {
                // B's features open at full size on the compare screen, where q comes back here.
                model.comparison?.view.zoomed = j
                model.comparison?.view.zoomExemplar = 0
                model.comparison?.view.zoomScroll = 0
                model.previousScreens.append(.sequence)
                model.screen = .compare
            } else {
                openFeature(j)
            }
        }
    }

    /// Enter on the detail screen: the exemplar under the cursor's whole sequence.
    private func openSelectedExemplarSequence() {
        guard let index = model.index else { return }
        let j = model.detail.feature
        guard let selected = Self.selectedExemplar(cursor: model.detail.exemplar, lines: exemplarLines(for: j, index: index)) else {
            setMessage("feature \(j) has no exemplars to open", isError: false)
            return
        }
        openSequence(feature: j, row: selected.exemplar.row, dictionary: .browsed, returnDetail: model.detail)
    }

    /// `w` on a list of features (the feature list, the probes' aligned features): the selected
    /// feature's top exemplar's sequence; on a search hit of the feature list, its first top
    /// exemplar whose text holds the search.
    private func openListedFeatureSequence() {
        guard let index = model.index else { return }
        let j: Int
        switch model.screen {
        case .probes:
            let features = model.probes.alignedFeatures
            guard model.probes.pane == .features, !features.isEmpty else {
                setMessage("Tab to the aligned features, then w opens a feature's top exemplar", isError: false)
                return
            }
            j = features[min(max(0, model.probes.aligned.selected), features.count - 1)].feature
        default:
            guard let selected = model.selectedFeature else { return }
            j = selected
        }
        guard index.topExemplarCount(j) > 0 else {
            setMessage("feature \(j) has no exemplars to open", isError: false)
            return
        }
        var rank = 0
        if model.screen == .features, let query = model.list.searchQuery,
           model.list.searchHits.contains(model.list.table.selected) {
            rank = searchText.firstMatchingRank(query, of: j, index: index, session: session) ?? 0
        }
        openSequence(feature: j, row: Int(index.topExemplar(j, rank: rank).row), dictionary: .browsed, returnDetail: nil)
    }

    /// Opens the sequence of the cache holding `row`, shaded by `dictionary`'s feature `j`, and
    /// starts encoding its rows.
    func openSequence(feature j: Int, row: Int, dictionary: SequenceDictionary, returnDetail: DetailState?,
                      returnCompare: CompareViewState? = nil) {
        guard let cache = session.cache else {
            setMessage(model.index?.provenance.isFromLatentCodes == true
                       ? "no whole sequences for an index of a latent cache: its exemplars hold their context"
                       : "no activation cache open: the whole sequence is read from --acts", isError: true)
            return
        }
        guard cache.hasTokens else {
            setMessage("the cache has no token ids: there is no text to show", isError: true)
            return
        }
        guard row >= 0, row < cache.rowCount else {
            setMessage("exemplar row \(row) is outside the cache (\(cache.rowCount) rows): re-index", isError: true)
            return
        }
        let s = cache.sequence(containing: row)
        let rows = cache.sequenceOffsets[s]..<cache.sequenceOffsets[s + 1]
        var state = SequenceState(feature: j, sequence: s, dictionary: dictionary, rows: rows,
                                  tokens: rows.map { cache.token(atRow: $0) },
                                  firing: row - rows.lowerBound, cursor: row - rows.lowerBound, returnDetail: returnDetail,
                                  returnCompare: returnCompare)
        let sae = dictionary == .compared ? model.comparison?.other.sae : session.sae
        guard let sae else { return }
        let box = UncheckedBox((cache: cache, sae: sae))
        let id = startJob(kind: "sequence \(s) \(dictionary)", title: "encode sequence \(s) (\(rows.count) tokens)", work: { context in
            try SequenceEncoding(rows: rows, cache: box.value.cache, sae: box.value.sae, isCancelled: { context.isCancelled })
        }, done: { [weak self] value in
            guard let self, let encoded = value as? SequenceEncoding else { return }
            // The drill-down may have been left (or another opened above it) meanwhile: every
            // open drill-down into these rows of this dictionary takes the codes.
            for i in self.model.sequences.indices
            where self.model.sequences[i].rows == rows && self.model.sequences[i].dictionary == dictionary {
                self.model.sequences[i].codes = encoded.codes
                self.model.sequences[i].nonFinite = encoded.nonFinite
            }
        })
        state.encodeJob = id
        model.sequences.append(state)
        show(.sequence)
    }

    private func moveTokenCursor(_ to: (SequenceState) -> Int) {
        guard var state = model.sequences.popLast() else { return }
        state.cursor = min(max(0, to(state)), state.tokens.count - 1)
        state.featureTable = TableState()
        model.sequences.append(state)
    }

    /// j/k and the page keys move through the features at the cursor.
    func moveSequenceFeatures(_ command: Command) {
        guard var state = model.sequences.popLast() else { return }
        moveTable(&state.featureTable, command, rowCount: state.features(at: state.cursor).count, page: layout.listRows)
        model.sequences.append(state)
    }

    /// Leaving the drill-down: the detail screen (or B's feature on the compare screen) it was
    /// opened from comes back as it was; its encode stops if it still runs.
    func closeSequence() {
        guard let state = model.sequences.popLast() else { return }
        if let job = state.encodeJob, model.jobs.contains(where: { $0.id == job && $0.state == .running }) { jobs.cancel(job) }
        if let view = state.returnCompare { model.comparison?.view = view }
        guard let detail = state.returnDetail else { return }
        showFeature(detail.feature)
        model.detail = detail
    }
}
