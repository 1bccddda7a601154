import TUI

/// A box with a title in its top border. `draw` returns the inner rectangle.
public struct Panel {
    public var title: String?
    /// Text at the right end of the top border (a count, a mode).
    public var info: String?
    /// A focused panel's border uses the accent colour.
    public var focused: Bool

    public init(title: String? = nil, info: String? = nil, focused: Bool = false) {
        self.title = title
        self.info = info
        self.focused = focused
    }

    @discardableResult
    public func draw(into buffer: inout Buffer, rect: Rect) -> Rect {
        guard rect.width >= 2, rect.height >= 2 else { return Rect(x: rect.x, y: rect.y, width: 0, height: 0) }
        let g = buffer.glyphs
        let border: Style = focused ? .fg(.accent) : .fg(.border)
        let top = rect.minY, bottom = rect.maxY - 1, left = rect.minX, right = rect.maxX - 1
        for x in (left + 1)..<right {
            buffer.put(g.horizontal, at: Point(x: x, y: top), style: border)
            buffer.put(g.horizontal, at: Point(x: x, y: bottom), style: border)
        }
        for y in (top + 1)..<bottom {
            buffer.put(g.vertical, at: Point(x: left, y: y), style: border)
            buffer.put(g.vertical, at: Point(x: right, y: y), style: border)
        }
        buffer.put(g.topLeft, at: Point(x: left, y: top), style: border)
        buffer.put(g.topRight, at: Point(x: right, y: top), style: border)
        buffer.put(g.bottomLeft, at: Point(x: left, y: bottom), style: border)
        buffer.put(g.bottomRight, at: Point(x: right, y: bottom), style: border)
        let inner = rect.inset(by: 1)
        let titleArea = Rect(x: left + 1, y: top, width: max(0, rect.width - 2), height: 1)
        var used = 0
        if let info, !info.isEmpty, titleArea.width > 4 {
            let t = Text.truncate(" \(info) ", columns: titleArea.width / 2, ellipsis: g.ellipsis)
            let w = DisplayWidth.of(t)
            buffer.put(t, at: Point(x: titleArea.maxX - w, y: top), style: .fg(.dimText), clip: titleArea)
            used = w + 1
        }
        if let title, !title.isEmpty, titleArea.width > 2 {
            let t = Text.truncate(" \(title) ", columns: titleArea.width - used, ellipsis: g.ellipsis)
            buffer.put(t, at: Point(x: titleArea.minX, y: top), style: Style(.title, [.bold]), clip: titleArea)
        }
        return inner
    }
}

/// The "terminal too small" notice: what size is needed and what there is, centred.
public struct EnlargeNotice {
    public var minimum: MinimumSize

    public init(minimum: MinimumSize) { self.minimum = minimum }

    public func draw(into buffer: inout Buffer, rect: Rect) {
        buffer.clear(rect)
        let lines = Text.wrap("Terminal too small: \(rect.width)x\(rect.height), needs \(minimum). "
                              + "Enlarge the window (q quits).", columns: max(1, rect.width))
        let top = rect.y + max(0, (rect.height - lines.count) / 2)
        for (i, l) in lines.enumerated() where top + i < rect.maxY {
            let w = DisplayWidth.of(l)
            buffer.put(l, at: Point(x: rect.x + max(0, (rect.width - w) / 2), y: top + i),
                       style: i == 0 ? Style(.warning, [.bold]) : .fg(.text), clip: rect)
        }
    }
}

/// Lines of text with a vertical scroll offset (help overlays, definitions). A line may carry
/// its own style.
public struct TextView {
    public var lines: [(text: String, style: Style)]
    public var offset: Int

    public init(lines: [String], style: Style = .plain, offset: Int = 0) {
        self.lines = lines.map { ($0, style) }
        self.offset = offset
    }

    public init(styledLines: [(text: String, style: Style)], offset: Int = 0) {
        self.lines = styledLines
        self.offset = offset
    }

    /// The largest useful offset for a view `height` rows tall.
    public func maxOffset(height: Int) -> Int { max(0, lines.count - height) }

    public func draw(into buffer: inout Buffer, rect: Rect) {
        let start = max(0, min(offset, maxOffset(height: rect.height)))
        for r in 0..<rect.height {
            let i = start + r
            guard i < lines.count else { break }
            let l = lines[i]
            buffer.put(Text.truncate(Text.visible(l.text, glyphs: buffer.glyphs), columns: rect.width,
                                     ellipsis: buffer.glyphs.ellipsis),
                       at: Point(x: rect.x, y: rect.y + r), style: l.style, clip: rect)
        }
        // Scroll position marker when clipped.
        if lines.count > rect.height, rect.width > 0, rect.height > 0 {
            let pos = "\(start + 1)-\(min(lines.count, start + rect.height))/\(lines.count)"
            let w = DisplayWidth.of(pos)
            if w < rect.width {
                buffer.put(pos, at: Point(x: rect.maxX - w, y: rect.maxY - 1), style: .fg(.dimText), clip: rect)
            }
        }
    }
}
