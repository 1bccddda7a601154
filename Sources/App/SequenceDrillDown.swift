import SAECore
import TUI
import Widgets

/// An exemplar's whole sequence from the activation cache, opened from the detail screen: every
/// token shaded by the feature's activation, a cursor on one token, and the features that fire
/// there. The sequence's rows are encoded once when it opens (saescope's own encoder, the one
/// the index used) and kept while the screen is open.
public struct SequenceState {
    /// The feature whose activation shades the tokens, and the sequence (of the cache).
    public var feature: Int
    public var sequence: Int
    /// The sequence's rows of the cache.
    public var rows: Range<Int>
    public var tokens: [Int32]
    /// The position (in the sequence) of the exemplar's row, and of the token cursor.
    public var firing: Int
    public var cursor: Int
    /// Every row's nonzero codes, by position in the sequence.
    public var codes: LatentCodes
    /// Positions whose cached activations are not finite: the index skipped them, nothing is shown.
    public var nonFinite: Set<Int>
    /// The side pane's list of the features at the cursor.
    public var featureTable = TableState()
    /// First wrapped line shown.
    public var scroll = 0
    /// The detail screen this was opened from, put back on leaving.
    public var returnDetail: DetailState

    /// Feature `j`'s activation at position `p` (0 where it did not fire).
    public func activation(of j: Int, at p: Int) -> Float {
        let range = codes.rowStart[p]..<codes.rowStart[p + 1]
        return range.first { codes.features[$0] == Int32(j) }.map { codes.values[$0] } ?? 0
    }

    /// The features active at position `p`, highest activation first (ties: lower id first).
    public func features(at p: Int) -> [(feature: Int, value: Float)] {
        guard !nonFinite.contains(p) else { return [] }
        return (codes.rowStart[p]..<codes.rowStart[p + 1])
            .map { (feature: Int(codes.features[$0]), value: codes.values[$0]) }
            .filter { $0.value != 0 }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.feature < $1.feature }
    }
}

extension AppController {
    func performSequence(_ command: SequenceCommand) {
        switch command {
        case .open: openSelectedExemplarSequence()
        case .previousToken: moveTokenCursor { $0.cursor - 1 }
        case .nextToken: moveTokenCursor { $0.cursor + 1 }
        case .firingToken: moveTokenCursor { $0.firing }
        case .openFeature:
            guard let state = model.sequences.last else { return }
            let features = state.features(at: state.cursor)
            guard !features.isEmpty else { return }
            openFeature(features[min(max(0, state.featureTable.selected), features.count - 1)].feature)
        }
    }

    /// Enter on the detail screen: the exemplar under the cursor's whole sequence.
    private func openSelectedExemplarSequence() {
        guard let index = model.index else { return }
        let j = model.detail.feature
        guard let selected = selectedExemplar(of: j, lines: exemplarLines(for: j, index: index)) else {
            setMessage("feature \(j) has no exemplars to open", isError: false)
            return
        }
        guard let cache = session.cache else {
            setMessage("no activation cache open: the whole sequence is read from --acts", isError: true)
            return
        }
        guard cache.hasTokens else {
            setMessage("the cache has no token ids: there is no text to show", isError: true)
            return
        }
        guard selected.exemplar.row >= 0, selected.exemplar.row < cache.rowCount else {
            setMessage("exemplar row \(selected.exemplar.row) is outside the cache (\(cache.rowCount) rows): re-index", isError: true)
            return
        }
        model.sequences.append(Self.sequenceState(feature: j, row: selected.exemplar.row, cache: cache, sae: session.sae,
                                                  returnDetail: model.detail))
        show(.sequence)
    }

    /// Reads and encodes the sequence holding cache row `row`.
    static func sequenceState(feature: Int, row: Int, cache: ActivationCache, sae: SparseAutoencoder,
                              returnDetail: DetailState) -> SequenceState {
        let s = cache.sequence(containing: row)
        let rows = cache.sequenceOffsets[s]..<cache.sequenceOffsets[s + 1]
        let d = cache.dimension
        var floats = [Float](repeating: 0, count: rows.count * d)
        floats.withUnsafeMutableBufferPointer { cache.readRows(rows, into: $0.baseAddress!) }
        // Rows the index skipped (not finite) are encoded as zeros and shown as empty.
        var nonFinite: Set<Int> = []
        for p in 0..<rows.count where !floats[p * d..<(p + 1) * d].allSatisfy({ $0.isFinite }) {
            nonFinite.insert(p)
            for k in 0..<d { floats[p * d + k] = 0 }
        }
        let codes = LatentCodes(encoding: Matrix(rows: rows.count, columns: d, values: floats.map(Double.init)), with: sae)
        return SequenceState(feature: feature, sequence: s, rows: rows, tokens: rows.map { cache.token(atRow: $0) },
                             firing: row - rows.lowerBound, cursor: row - rows.lowerBound, codes: codes, nonFinite: nonFinite,
                             returnDetail: returnDetail)
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

    /// Leaving the drill-down: the detail screen it was opened from comes back as it was.
    func closeSequence() {
        guard let state = model.sequences.popLast() else { return }
        showFeature(state.returnDetail.feature)
        model.detail = state.returnDetail
    }
}
