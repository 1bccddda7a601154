import TUI

/// Selection and scroll position of a table (or any list), kept in the app's model.
public struct TableState: Hashable, Sendable {
    /// Selected row index.
    public var selected: Int
    /// First visible row.
    public var offset: Int

    public init(selected: Int = 0, offset: Int = 0) {
        self.selected = selected
        self.offset = offset
    }

    /// Clamps the selection to `0..<rowCount` and scrolls so it is visible in `visibleRows`.
    public mutating func scrollToSelection(visibleRows: Int, rowCount: Int) {
        selected = rowCount == 0 ? 0 : max(0, min(selected, rowCount - 1))
        let vis = max(1, visibleRows)
        if selected < offset { offset = selected }
        if selected >= offset + vis { offset = selected - vis + 1 }
        offset = max(0, min(offset, max(0, rowCount - vis)))
    }

    /// Moves the selection by `delta` rows (clamped).
    public mutating func move(by delta: Int, rowCount: Int) {
        guard rowCount > 0 else { selected = 0; return }
        selected = max(0, min(rowCount - 1, selected + delta))
    }

    /// Moves by a page (`visibleRows - 1`, at least 1) up (`-1`) or down (`+1`).
    public mutating func page(_ direction: Int, visibleRows: Int, rowCount: Int) {
        move(by: direction * max(1, visibleRows - 1), rowCount: rowCount)
    }

    public mutating func moveToStart() { selected = 0 }

    public mutating func moveToEnd(rowCount: Int) { selected = max(0, rowCount - 1) }
}

/// A table over rows supplied by a closure: only visible rows are asked for, so 100k rows cost
/// nothing. A 1-column gutter shows marks (when `isMarked` is set); the selected row has the
/// selection background; a scrollbar appears when rows overflow; cells are truncated with an
/// ellipsis; the sorted column's title carries a sort indicator.
public struct Table {
    public var columns: [Column]
    public var rowCount: Int
    /// Text of (row, column).
    public var cell: (Int, Int) -> String
    /// Optional style for a whole row (e.g. dim for dead features).
    public var rowStyle: ((Int) -> Style?)?
    /// Optional style for one cell, drawn over the row style.
    public var cellStyle: ((Int, Int) -> Style?)?
    /// Draws a cell (row, column, its rect) itself, over the row's selection background,
    /// instead of its text: e.g. a token strip. Returns false to draw the text after all.
    public var drawCell: ((Int, Int, Rect, inout Buffer) -> Bool)?
    /// Marked rows get `glyphs.mark` in the gutter.
    public var isMarked: ((Int) -> Bool)?
    public var sortColumn: Int?
    public var sortAscending: Bool
    public var showHeader: Bool
    public var showScrollbar: Bool
    /// Without focus the selected row is shown with the dim attribute instead of the selection
    /// background.
    public var focused: Bool
    /// Shown when there are no rows.
    public var emptyText: String

    public init(columns: [Column], rowCount: Int, cell: @escaping (Int, Int) -> String) {
        self.columns = columns
        self.rowCount = rowCount
        self.cell = cell
        rowStyle = nil
        cellStyle = nil
        drawCell = nil
        isMarked = nil
        sortColumn = nil
        sortAscending = true
        showHeader = true
        showScrollbar = true
        focused = true
        emptyText = "no rows"
    }

    /// Rows of data that fit in `rect` (the header takes one).
    public func visibleRows(in rect: Rect) -> Int {
        max(0, rect.height - (showHeader ? 1 : 0))
    }

    private func hasScrollbar(_ rect: Rect) -> Bool {
        showScrollbar && rowCount > visibleRows(in: rect) && rect.width > 4
    }

    /// Columns' x offsets (absolute) and widths inside `rect`, for drawing and mouse hits.
    public func columnFrames(in rect: Rect) -> [(x: Int, width: Int)] {
        var x = rect.x + (isMarked != nil ? 2 : 0)
        let avail = max(0, rect.maxX - x - (hasScrollbar(rect) ? 1 : 0))
        let n = columns.count
        guard n > 0 else { return [] }
        let seps = n - 1
        var widths = [Int](repeating: 0, count: n)
        var left = max(0, avail - seps)
        for (i, c) in columns.enumerated() {
            if case .fixed(let w) = c.width {
                widths[i] = min(max(0, w), left)
                left -= widths[i]
            }
        }
        // Flex columns share what is left by weight; one whose share is below its minimum gets
        // the minimum and the others share the rest.
        var active: [(i: Int, weight: Int, min: Int)] = columns.enumerated().compactMap { i, c in
            if case .flex(let w, let m) = c.width { return (i, max(0, w), max(0, m)) }
            return nil
        }
        var pool = left
        while !active.isEmpty {
            let wsum = active.reduce(0) { $0 + $1.weight }
            let below = active.filter { wsum == 0 || pool * $0.weight / wsum < $0.min }
            if below.isEmpty {
                var given = 0
                for (k, a) in active.enumerated() {
                    let share = k == active.count - 1 ? pool - given : pool * a.weight / wsum
                    widths[a.i] = share
                    given += share
                }
                break
            }
            for a in below {
                widths[a.i] = min(a.min, pool)
                pool -= widths[a.i]
            }
            active.removeAll { a in below.contains { $0.i == a.i } }
        }
        var out: [(x: Int, width: Int)] = []
        for w in widths {
            out.append((x, w))
            x += w + 1
        }
        return out
    }

    /// The data row under `point`, given the state the table was drawn with.
    public func row(at point: Point, in rect: Rect, state: TableState) -> Int? {
        guard rect.contains(point) else { return nil }
        let r = point.y - rect.y - (showHeader ? 1 : 0)
        guard r >= 0 else { return nil }
        let row = state.offset + r
        return row < rowCount ? row : nil
    }

    /// Draws the table and updates `state` (selection clamped, offset scrolled to show it).
    public func draw(into buffer: inout Buffer, rect: Rect, state: inout TableState) {
        guard !rect.isEmpty else { return }
        let g = buffer.glyphs
        let vis = visibleRows(in: rect)
        state.scrollToSelection(visibleRows: vis, rowCount: rowCount)
        let frames = columnFrames(in: rect)
        var y = rect.y

        if showHeader {
            for (i, c) in columns.enumerated() where frames[i].width > 0 {
                let f = frames[i]
                var title = c.title
                if sortColumn == i {
                    let ind = (g.isUnicode ? "" : " ") + (sortAscending ? g.sortAscending : g.sortDescending)
                    let iw = DisplayWidth.of(ind)
                    title = Text.truncate(c.title, columns: max(0, f.width - iw), ellipsis: g.ellipsis) + ind
                }
                let s = Text.fit(title, width: f.width, alignment: c.alignment, ellipsis: g.ellipsis)
                buffer.put(s, at: Point(x: f.x, y: y), style: Style(.title, [.bold]), clip: rect)
            }
            y += 1
        }

        if rowCount == 0 {
            if vis > 0 {
                buffer.put(Text.truncate(emptyText, columns: rect.width, ellipsis: g.ellipsis),
                           at: Point(x: rect.x + (isMarked != nil ? 2 : 0), y: y), style: .fg(.dimText), clip: rect)
            }
            return
        }

        let lastRow = min(rowCount, state.offset + vis)
        let rowRect = Rect(x: rect.x, y: 0, width: rect.width - (hasScrollbar(rect) ? 1 : 0), height: 1)
        for row in state.offset..<max(state.offset, lastRow) {
            let line = Rect(x: rowRect.x, y: y, width: rowRect.width, height: 1)
            let base = rowStyle?(row) ?? .plain
            if row == state.selected {
                if focused {
                    buffer.fill(line, style: Style(bg: .role(.selection)))
                }
            }
            var rowBase = base
            if row == state.selected && !focused { rowBase = rowBase.adding(.underline) }
            if let isMarked, isMarked(row) {
                buffer.put(g.mark, at: Point(x: rect.x, y: y), style: Style(.accent, [.bold]), clip: line)
            }
            for (i, c) in columns.enumerated() where frames[i].width > 0 {
                let f = frames[i]
                if let drawCell, drawCell(row, i, Rect(x: f.x, y: y, width: f.width, height: 1), &buffer) { continue }
                let st = (cellStyle?(row, i)).map { $0.over(rowBase) } ?? rowBase
                buffer.put(Text.visible(cell(row, i), glyphs: g), in: Rect(x: f.x, y: y, width: f.width, height: 1),
                           alignment: c.alignment, style: st)
            }
            y += 1
        }

        if hasScrollbar(rect) {
            let x = rect.maxX - 1
            let top = rect.y + (showHeader ? 1 : 0)
            let track = vis
            let thumb = max(1, track * vis / max(1, rowCount))
            let maxOffset = max(1, rowCount - vis)
            let pos = (track - thumb) * state.offset / maxOffset
            for r in 0..<track {
                let inThumb = r >= pos && r < pos + thumb
                buffer.put(inThumb ? g.scrollThumb : g.scrollTrack, at: Point(x: x, y: top + r),
                           style: inThumb ? .fg(.dimText) : .fg(.border))
            }
        }
    }
}

extension Table {
    /// A table column: title, width and alignment.
    public struct Column: Sendable {
        public enum Width: Hashable, Sendable {
            /// Exactly `n` columns.
            case fixed(Int)
            /// A share (by weight) of the width the fixed columns leave, never below `min`.
            case flex(weight: Int = 1, min: Int = 4)
        }

        public var title: String
        public var width: Width
        public var alignment: Alignment

        public init(_ title: String, width: Width = .flex(), alignment: Alignment = .left) {
            self.title = title
            self.width = width
            self.alignment = alignment
        }
    }
}
