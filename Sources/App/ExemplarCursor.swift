import SAECore

/// The detail screen's exemplar cursor: j/k (and the page keys) step through the exemplars of
/// the pane, which scrolls to keep the one under the cursor in view; Enter opens its sequence.
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

    /// The exemplar under the cursor of feature `j`'s pane, and its line (nil: it never fired).
    func selectedExemplar(of j: Int, lines: [ExemplarLine]) -> (exemplar: Exemplar, line: Int, cursor: Int)? {
        let positions = Self.exemplarPositions(lines)
        guard !positions.isEmpty else { return nil }
        let cursor = min(max(0, model.detail.exemplar), positions.count - 1)
        guard case .exemplar(let exemplar) = lines[positions[cursor]] else { return nil }
        return (exemplar, positions[cursor], cursor)
    }

    func moveExemplarCursor(_ command: Command) {
        guard let index = model.index else { return }
        let lines = exemplarLines(for: model.detail.feature, index: index)
        let positions = Self.exemplarPositions(lines)
        guard !positions.isEmpty else { return }
        let page = max(1, layout.exemplarRows - 1)
        var cursor = min(max(0, model.detail.exemplar), positions.count - 1)
        switch command {
        case .up: cursor -= 1
        case .down: cursor += 1
        case .pageUp: cursor = positions.firstIndex { $0 >= positions[cursor] - page } ?? 0
        case .pageDown: cursor = positions.lastIndex { $0 <= positions[cursor] + page } ?? cursor
        case .top: cursor = 0
        case .bottom: cursor = positions.count - 1
        default: break
        }
        cursor = min(max(0, cursor), positions.count - 1)
        model.detail.exemplar = cursor
        // The first exemplar brings its heading back into view.
        let line = cursor == 0 ? 0 : positions[cursor]
        model.detail.scroll = Self.scroll(keeping: line, from: model.detail.scroll, rows: max(1, layout.exemplarRows), lineCount: lines.count)
    }
}
