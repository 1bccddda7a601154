import CNcurses
import Glibc
import TUI

/// A style as curses draws it: attribute bits and a colour pair.
struct CellLook: Equatable {
    var attributes: attr_t
    var pair: Int32
}

extension TerminalScreen {
    /// Draws `buffer` (its top-left at the screen's top-left, clipped to the screen). Only the
    /// cells that changed since the last presented buffer are handed to curses; the first frame,
    /// a size change and `invalidate()` redraw everything. Styles are resolved with `theme` for
    /// `colorMode`.
    public func present(_ buffer: Buffer, theme: Theme) {
        guard isActive else { return }
        if theme != lastTheme {
            // Pairs stay defined (they are keyed by colour numbers); only the role -> colour
            // resolution changes, and with it every cell's look.
            looks.removeAll(keepingCapacity: true)
            lastTheme = theme
            previous = nil
        }
        let win = saescope_stdscr()
        let w = min(buffer.width, width), h = min(buffer.height, height)
        if let prev = previous, !needsFullRedraw, prev.width == buffer.width, prev.height == buffer.height {
            for run in buffer.diff(from: prev) where run.y < h {
                var x = run.x
                for cell in run.cells {
                    if x >= w { break }
                    if cell.width != 0 { draw(cell, x: x, y: run.y, clipWidth: w, theme: theme) }
                    x += 1
                }
            }
        } else {
            werase(win)
            buffer.cells.withUnsafeBufferPointer { cells in
                for y in 0..<h {
                    let row = y * buffer.width
                    for x in 0..<w where cells[row + x].width != 0 {
                        draw(cells[row + x], x: x, y: y, clipWidth: w, theme: theme)
                    }
                }
            }
            needsFullRedraw = false
        }
        _ = wnoutrefresh(win)
        _ = doupdate()
        previous = buffer
    }

    /// Writes one cell. A two-column character at the clip edge becomes a space; a character the
    /// C library measures differently from the buffer is drawn so the grid stays aligned (see
    /// `glyph(for:)`). ERR from the bottom-right cell is expected and ignored: curses cannot
    /// advance the cursor past it, but the character is placed.
    private func draw(_ cell: Cell, x: Int, y: Int, clipWidth: Int, theme: Theme) {
        let look = self.look(for: cell.style, theme: theme)
        var width = Int(cell.width)
        var glyph = TerminalScreen.glyph(for: cell)
        if width == 2 && x + 1 >= clipWidth {
            glyph = .replace(0x20)
            width = 1
        }
        switch glyph {
        case .asIs, .narrowerThanCell:
            fillScalars(of: cell)
        case .replace(let c):
            wideChars[0] = wchar_t(c)
            wideChars[1] = 0
        }
        _ = saescope_put_cell(Int32(y), Int32(x), wideChars, look.attributes, look.pair)
        if width == 2 && glyph != .asIs {
            // What was drawn takes one column for the C library (and so for curses and most
            // terminals): fill the cell's second column so nothing stale shows there.
            wideChars[0] = 0x20
            wideChars[1] = 0
            _ = saescope_put_cell(Int32(y), Int32(x + 1), wideChars, look.attributes, look.pair)
        }
    }

    enum Glyph: Equatable {
        /// Draw the cell's text.
        case asIs
        /// Draw this scalar instead (one column).
        case replace(UInt32)
        /// A width-2 cell whose character the C library makes one column wide: draw it and pad.
        case narrowerThanCell
    }

    /// How to draw a cell's text so that curses moves exactly `cell.width` columns. curses sizes
    /// characters with the C library's `wcwidth`, the buffer with `DisplayWidth`; where they
    /// disagree (or the locale cannot encode the character: `wcwidth` is -1 outside UTF-8),
    /// a `?` keeps every later cell in its column.
    static func glyph(for cell: Cell) -> Glyph {
        let code = cell.code
        if code >= 0x20 && code < 0x7F { return .asIs }  // printable ASCII: the common case
        if code == 0 { return .replace(0x20) }
        if code < 0x20 || (code >= 0x7F && code < 0xA0) { return .replace(0x3F) }  // controls
        let first: UInt32
        if code < 0x11_0000 {
            first = code
        } else {
            // An interned cluster: curses sizes it by its first (spacing) character.
            guard let f = cell.grapheme.unicodeScalars.first?.value else { return .replace(0x20) }
            first = f
        }
        let libcWidth = Int(saescope_wcwidth(wchar_t(first)))
        if libcWidth == Int(cell.width) { return .asIs }
        if cell.width == 2 && libcWidth == 1 { return .narrowerThanCell }
        return .replace(0x3F)
    }

    /// Puts the cell's scalars, NUL-terminated, in `wideChars`: the spacing character and up to
    /// CCHARW_MAX - 1 combining marks (a longer cluster, such as an emoji ZWJ sequence, is cut;
    /// curses can hold no more).
    private func fillScalars(of cell: Cell) {
        if cell.code < 0x11_0000 {
            wideChars[0] = wchar_t(cell.code)
            wideChars[1] = 0
            return
        }
        var i = 0
        for s in cell.grapheme.unicodeScalars {
            if i == Int(CCHARW_MAX) { break }
            wideChars[i] = wchar_t(s.value)
            i += 1
        }
        wideChars[i] = 0
    }

    /// The attributes and colour pair of a style, resolved once per theme.
    func look(for style: Style, theme: Theme) -> CellLook {
        if let l = looks[style] { return l }
        let resolved = theme.resolve(style, mode: colorMode)
        var attrs = saescope_a_normal()
        if resolved.attributes.contains(.bold) { attrs |= saescope_a_bold() }
        if resolved.attributes.contains(.underline) { attrs |= saescope_a_underline() }
        if resolved.attributes.contains(.reverse) { attrs |= saescope_a_reverse() }
        if resolved.attributes.contains(.dim) { attrs |= saescope_a_dim() }
        var pair: Int32 = 0
        if colorMode != .monochrome {
            let fg = ColorMapping.cursesColor(resolved.fg, colors: colorCount, defaultColors: defaultColors,
                                              foreground: true)
            let bg = ColorMapping.cursesColor(resolved.bg, colors: colorCount, defaultColors: defaultColors,
                                              foreground: false)
            // init_extended_pair (ncurses 6.1): pair numbers and colours beyond a short.
            pair = pairs.pair(fg: fg, bg: bg) { p, f, b in init_extended_pair(p, f, b) == OK }
        }
        let look = CellLook(attributes: attrs, pair: pair)
        looks[style] = look
        return look
    }
}
