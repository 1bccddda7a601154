import SAECore

/// The exemplar cursor of an exemplar pane (the detail screen's, and B's feature at full size on
/// the compare screen): j/k (and the page keys) step through the exemplars of the pane, which
/// scrolls to keep the one under the cursor in view; Enter opens its sequence.
extension AppController {
    /// The lines of `lines` that are exemplars, in order: the cursor counts over these.
    static func exemplarPositions(_ lines: [ExemplarLine]) -> [Int] {
        lines.indices.filter { if case .exemplar = lines[$0] { return true } else { return false } }
    }

    /// The first line to show of `lineCount` lines in `rows` rows, from `scroll`, moved as little
    /// as needed for `line` to show.
    static func scroll(keeping line: Int, from scroll: Int, rows: Int, lineCount: Int) -> Int {
        var first = min(scroll, line)
        if line >= first + rows { first = line - rows + 1 }
        return max(0, min(first, lineCount - rows))
    }

    /// The exemplar under `cursor` (clamped) of the pane's `lines`, its line, and the clamped
    /// cursor (nil: the feature never fired).
    static func selectedExemplar(cursor: Int, lines: [ExemplarLine]) -> (exemplar: Exemplar, line: Int, cursor: Int)? {
        let positions = exemplarPositions(lines)
        guard !positions.isEmpty else { return nil }
        let cursor = min(max(0, cursor), positions.count - 1)
        guard case .exemplar(let exemplar) = lines[positions[cursor]] else { return nil }
        return (exemplar, positions[cursor], cursor)
    }

    /// Moves `cursor` over the exemplars of `lines` by `command`, and `scroll` (of a pane `rows`
    /// high) to keep it in view.
    static func moveExemplarCursor(_ command: Command, cursor: inout Int, scroll: inout Int, lines: [ExemplarLine], rows: Int) {
        let positions = exemplarPositions(lines)
        guard !positions.isEmpty else { return }
        let page = max(1, rows - 1)
        var at = min(max(0, cursor), positions.count - 1)
        switch command {
        case .up: at -= 1
        case .down: at += 1
        case .pageUp: at = positions.firstIndex { $0 >= positions[at] - page } ?? 0
        case .pageDown: at = positions.lastIndex { $0 <= positions[at] + page } ?? at
        case .top: at = 0
        case .bottom: at = positions.count - 1
        default: break
        }
        at = min(max(0, at), positions.count - 1)
        cursor = at
        // The first exemplar brings its heading back into view.
        let line = at == 0 ? 0 : positions[at]
        scroll = Self.scroll(keeping: line, from: scroll, rows: max(1, rows), lineCount: lines.count)
    }

    func moveExemplarCursor(_ command: Command) {
        guard let index = model.index else { return }
        var detail = model.detail
        Self.moveExemplarCursor(command, cursor: &detail.exemplar, scroll: &detail.scroll,
                                lines: exemplarLines(for: detail.feature, index: index), rows: layout.exemplarRows)
        model.detail = detail
    }
}
