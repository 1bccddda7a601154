import TUI

/// A row of tokens as running text, each token's background shaded along the theme ramp by its
/// activation, one highlighted token (the activating one) drawn as the most visible: see
/// `highlightStyle`.
///
/// - Spaces are kept as they are by default: tokens read as running text, and the shading shows
///   where each token (with its leading space) begins. `showLeadingSpaces` draws a token's
///   leading spaces as `·` (`_` in ASCII) instead, for when token boundaries matter more.
/// - Control characters are made visible: newline `↵` (`\n`), tab `→` (`\t`), others `^X`.
/// - Wider than the rect: cut to keep the highlighted token centred, with an ellipsis at each
///   cut end.
/// - `anchor` set: the highlighted token's text starts at that column of the rect, whatever its
///   left context (right-aligned before it, cut with an ellipsis when longer), so a column of
///   strips lines up on the tokens that fired.
/// - Monochrome: the highlighted token is also wrapped in brackets (`[token]`); ramp shades at
///   or above the theme's threshold are underlined by the theme.
public struct TokenStrip {
    public var tokens: [String]
    /// Per-token activation fraction in [0, 1] (clamped); 0 or missing means unshaded.
    public var activations: [Double]
    public var highlight: Int?
    public var showLeadingSpaces: Bool
    /// Brackets around the highlighted token; nil: only when the buffer is monochrome.
    public var bracketHighlight: Bool?
    /// The column (from the rect's left) where the highlighted token's text starts; nil: centred
    /// when the strip overflows, else from the left.
    public var anchor: Int?

    public init(tokens: [String], activations: [Double] = [], highlight: Int? = nil,
                showLeadingSpaces: Bool = false, bracketHighlight: Bool? = nil, anchor: Int? = nil) {
        self.tokens = tokens
        self.activations = activations
        self.highlight = highlight
        self.showLeadingSpaces = showLeadingSpaces
        self.bracketHighlight = bracketHighlight
        self.anchor = anchor
    }

    /// Display width of what comes before the highlighted token's text (its left context and its
    /// own leading spaces): where an anchored strip needs room on the left.
    public func leftWidth(glyphs: Glyphs, monochrome: Bool) -> Int {
        let lay = layout(glyphs: glyphs, monochrome: monochrome)
        guard let h = highlight, h >= 0, h < lay.count else { return 0 }
        return lay[h].x + Self.leadingSpaces(lay[h].text)
    }

    private static func leadingSpaces(_ text: String) -> Int { text.prefix { $0 == " " }.count }

    /// Each token as drawn, with its start column in the unclipped strip.
    public func layout(glyphs: Glyphs, monochrome: Bool) -> [(text: String, x: Int, width: Int)] {
        let brackets = bracketHighlight ?? monochrome
        var out: [(text: String, x: Int, width: Int)] = []
        var x = 0
        for (i, tok) in tokens.enumerated() {
            var t = tok
            if showLeadingSpaces {
                let n = t.prefix(while: { $0 == " " }).count
                if n > 0 { t = String(repeating: glyphs.visibleSpace, count: n) + t.dropFirst(n) }
            }
            t = Text.visible(t, glyphs: glyphs)
            if brackets && i == highlight {
                // Leading spaces stay outside: " [louisa]" reads as a word, "[ louisa]" does not.
                let spaces = t.prefix { $0 == " " }
                t = spaces + "[" + t.dropFirst(spaces.count) + "]"
            }
            let w = DisplayWidth.of(t)
            out.append((t, x, w))
            x += w
        }
        return out
    }

    /// The column of the strip shown at the rect's left edge (negative: the strip starts that
    /// far into the rect) in a rect `width` wide.
    public func windowStart(totalWidth: Int, width: Int, layout: [(text: String, x: Int, width: Int)]) -> Int {
        if let anchor, let h = highlight, h >= 0, h < layout.count {
            return layout[h].x + Self.leadingSpaces(layout[h].text) - anchor
        }
        guard totalWidth > width, width > 0 else { return 0 }
        guard let h = highlight, h >= 0, h < layout.count else { return 0 }
        let centre = layout[h].x + layout[h].width / 2
        return max(0, min(totalWidth - width, centre - width / 2))
    }

    /// The token under column `x` when drawn in `rect` (for mouse selection).
    public func token(atColumn x: Int, in rect: Rect, glyphs: Glyphs, monochrome: Bool) -> Int? {
        guard x >= rect.minX, x < rect.maxX else { return nil }
        let lay = layout(glyphs: glyphs, monochrome: monochrome)
        let total = lay.last.map { $0.x + $0.width } ?? 0
        let col = x - rect.x + windowStart(totalWidth: total, width: rect.width, layout: lay)
        return lay.firstIndex { col >= $0.x && col < $0.x + $0.width }
    }

    /// The activating token's style, the strongest in the strip in every theme.
    ///
    /// - In colour: the ramp's end as background (whatever its own shade) with the theme's
    ///   contrasting text, bold and underlined; no neighbour is bold or underlined in colour.
    ///   Reverse would swap the ramp onto the text: in dark themes the token that fired read as
    ///   orange text on black while a neighbour had the orange background.
    /// - Monochrome: bold reverse (shades there are at most underlined), plus the brackets.
    public static func highlightStyle(over shaded: Style, monochrome: Bool) -> Style {
        var style = shaded
        if monochrome {
            style.attributes = [.bold, .reverse]
        } else {
            style.bg = .role(.rampEnd)
            style.attributes = [.bold, .underline]
        }
        return style
    }

    /// Draws in the first row of `rect`.
    public func draw(into buffer: inout Buffer, rect: Rect) {
        guard !rect.isEmpty else { return }
        let g = buffer.glyphs
        let row = rect.row(0)
        let lay = layout(glyphs: g, monochrome: buffer.monochrome)
        let total = lay.last.map { $0.x + $0.width } ?? 0
        let start = windowStart(totalWidth: total, width: row.width, layout: lay)
        let cutLeft = start > 0
        let cutRight = start + row.width < total
        let ew = DisplayWidth.of(g.ellipsis)
        let inner = row.inset(left: cutLeft ? ew : 0, right: cutRight ? ew : 0)
        for (i, t) in lay.enumerated() {
            let x0 = row.x + t.x - start
            if x0 >= inner.maxX { break }
            if x0 + t.width <= inner.minX { continue }
            let a = i < activations.count ? activations[i] : 0
            var st = Style.plain
            if a.isFinite, a > 0 { st.bg = .ramp(fraction: a) }
            if i == highlight { st = Self.highlightStyle(over: st, monochrome: buffer.monochrome) }
            buffer.put(t.text, at: Point(x: x0, y: row.y), style: st, clip: inner)
        }
        if cutLeft { buffer.put(g.ellipsis, at: Point(x: row.x, y: row.y), style: .fg(.dimText), clip: row) }
        if cutRight { buffer.put(g.ellipsis, at: Point(x: row.maxX - ew, y: row.y), style: .fg(.dimText), clip: row) }
    }
}
