import Foundation

/// One terminal cell: a grapheme cluster, its display width and its style.
///
/// A wide (2-column) character occupies two cells: the lead cell holds the grapheme with width 2
/// and the cell to its right is a continuation cell (empty grapheme, width 0, same style).
///
/// Cells are plain values (no references): a single-scalar grapheme is stored as the scalar, a
/// longer cluster (emoji sequence, base + combining marks) as an index into a process-wide table
/// of interned clusters. Copying and comparing cells is therefore cheap.
public struct Cell: Hashable, Sendable {
    /// A Unicode scalar value, 0 for a continuation cell, or `Cell.clusterBase + i` for the
    /// i-th interned cluster.
    public var code: UInt32
    /// 1, 2 (lead of a wide character) or 0 (continuation of the wide character to the left).
    public var width: UInt8
    public var style: Style

    static let clusterBase: UInt32 = 0x11_0000

    public init(_ grapheme: String, width: UInt8 = 1, style: Style = .plain) {
        self.code = Cell.encode(grapheme)
        self.width = width
        self.style = style
    }

    @inlinable
    public init(code: UInt32, width: UInt8, style: Style) {
        self.code = code
        self.width = width
        self.style = style
    }

    public static let blank = Cell(code: 0x20, width: 1, style: .plain)

    public var isContinuation: Bool { width == 0 }

    /// The grapheme cluster ("" for a continuation cell).
    public var grapheme: String {
        get { Cell.decode(code) }
        set { code = Cell.encode(newValue) }
    }

    /// Appends the cluster's text to `s`.
    @inlinable
    public func append(to s: inout String) {
        if code == 0 { return }
        if code < 0x80 {
            s.append(Character(Unicode.Scalar(UInt8(code))))
        } else {
            s += grapheme
        }
    }

    /// Appends the cluster's UTF-8 bytes to `bytes`.
    @inlinable
    public func appendUTF8(to bytes: inout [UInt8]) {
        let v = code
        if v == 0 { return }
        if v < 0x80 {
            bytes.append(UInt8(v))
        } else if v < 0x800 {
            bytes.append(UInt8(0xC0 | (v >> 6)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        } else if v < 0x1_0000 {
            bytes.append(UInt8(0xE0 | (v >> 12)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        } else if v < 0x11_0000 {
            bytes.append(UInt8(0xF0 | (v >> 18)))
            bytes.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        } else {
            bytes.append(contentsOf: Array(grapheme.utf8))
        }
    }

    static func encode(_ g: String) -> UInt32 {
        var it = g.unicodeScalars.makeIterator()
        guard let first = it.next() else { return 0 }
        if it.next() == nil { return first.value }
        return ClusterTable.shared.intern(g)
    }

    static func decode(_ code: UInt32) -> String {
        if code == 0 { return "" }
        if code < clusterBase, let sc = Unicode.Scalar(code) { return String(Character(sc)) }
        return ClusterTable.shared.string(code - clusterBase)
    }
}

/// Interned multi-scalar grapheme clusters (rare: emoji sequences, combining marks).
final class ClusterTable: @unchecked Sendable {
    static let shared = ClusterTable()
    private let lock = NSLock()
    private var strings: [String] = []
    private var index: [String: UInt32] = [:]

    func intern(_ s: String) -> UInt32 {
        lock.lock()
        defer { lock.unlock() }
        if let i = index[s] { return Cell.clusterBase + i }
        let i = UInt32(strings.count)
        strings.append(s)
        index[s] = i
        return Cell.clusterBase + i
    }

    func string(_ i: UInt32) -> String {
        lock.lock()
        defer { lock.unlock() }
        return Int(i) < strings.count ? strings[Int(i)] : "\u{FFFD}"
    }
}

/// A run of changed cells on one row, for a terminal backend that redraws only what changed.
/// A run never starts on a continuation cell and never ends between a wide character's halves.
public struct BufferRun: Hashable, Sendable {
    public var x: Int
    public var y: Int
    public var cells: [Cell]

    /// The run's text as a terminal should print it (continuation cells skipped).
    public var text: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(cells.count)
        for c in cells { c.appendUTF8(to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A rectangle of cells that widgets draw into. Pure data: the terminal layer copies it out.
public struct Buffer: Sendable {
    public let width: Int
    public let height: Int
    /// Unicode or ASCII glyphs, for every widget drawing into this buffer.
    public var glyphs: Glyphs
    /// True when colours will not show (`NO_COLOR`, monochrome terminals): widgets then add
    /// non-colour cues (brackets around a highlighted token, class markers in scatter plots).
    public var monochrome: Bool
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, glyphs: Glyphs = .unicode, monochrome: Bool = false) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.glyphs = glyphs
        self.monochrome = monochrome
        cells = [Cell](repeating: .blank, count: self.width * self.height)
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "cell (\(x),\(y)) outside \(width)x\(height)")
        return cells[y * width + x]
    }

    // MARK: Drawing

    /// Writes `text` starting at `point`, clipped to `clip` (and the buffer). Returns the column
    /// after the last character (as if unclipped), so calls can be chained along a row.
    ///
    /// Grapheme clusters are measured with `DisplayWidth`. A wide character that does not fit
    /// at the clip's right edge (or straddles its left edge) becomes a space. Control characters
    /// are drawn as `glyphs.replacement`; with ASCII glyphs (a terminal without UTF-8) so is every
    /// non-ASCII character, once per column it would take. Styles are drawn over what the cells had: colours left
    /// nil in `style` keep the cell's colour (so text over a filled selection keeps its
    /// background); attributes replace.
    @discardableResult
    public mutating func put(_ text: String, at point: Point, style: Style = .plain, clip: Rect? = nil) -> Int {
        let c = (clip ?? bounds).intersection(bounds)
        let y = point.y
        guard !c.isEmpty, y >= c.minY, y < c.maxY else { return point.x + DisplayWidth.of(text) }
        // Fast path: printable ASCII.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            var x = point.x
            for b in text.utf8 {
                if x >= c.maxX { break }
                if x >= c.minX { write(x: x, y: y, UInt32(b), 1, style) }
                x += 1
            }
            return point.x + text.utf8.count
        }
        var cursor = PutCursor(x: point.x, y: y, clip: c, style: style)
        let replacement = Cell.encode(glyphs.replacement)
        let asciiOnly = !glyphs.isUnicode
        if !text.unicodeScalars.contains(where: DisplayWidth.needsSegmentation) {
            // Every scalar is a cluster of its own: no grapheme segmentation needed.
            for sc in text.unicodeScalars {
                let w = DisplayWidth.of(sc)
                if DisplayWidth.isControl(sc) {
                    emit(&cursor, replacement, 1, count: 1)
                } else if asciiOnly && !sc.isASCII {
                    emit(&cursor, replacement, 1, count: w)
                } else {
                    emit(&cursor, sc.value, w, count: 1)
                }
            }
            return cursor.x
        }
        for ch in text {
            let first = ch.unicodeScalars.first!
            let w = DisplayWidth.of(ch)
            if DisplayWidth.isControl(first) {
                emit(&cursor, replacement, 1, count: 1)
            } else if w == 0 {
                // A cluster with no width of its own (a mark at the start of a string): attach
                // it to the cell just written, if any.
                if cursor.lastWritten >= 0 && !asciiOnly {
                    cells[cursor.lastWritten].grapheme += String(ch)
                }
            } else if asciiOnly && !ch.isASCII {
                // A terminal without UTF-8 cannot show it: the base letter when it is ASCII
                // ("e" + combining accent), else one replacement per column.
                if first.isASCII { emit(&cursor, first.value, 1, count: 1) } else { emit(&cursor, replacement, 1, count: w) }
            } else {
                emit(&cursor, Cell.encode(String(ch)), w, count: 1)
            }
        }
        return cursor.x
    }

    private struct PutCursor {
        var x: Int
        let y: Int
        let clip: Rect
        let style: Style
        var lastWritten = -1
        init(x: Int, y: Int, clip: Rect, style: Style) {
            self.x = x
            self.y = y
            self.clip = clip
            self.style = style
        }
    }

    /// Writes `count` cells of `code` (each `w` columns) at the cursor, clipped.
    private mutating func emit(_ cur: inout PutCursor, _ code: UInt32, _ w: Int, count: Int) {
        for _ in 0..<count {
            let x = cur.x
            if x >= cur.clip.maxX {
                cur.x += w
                continue
            }
            if x < cur.clip.minX {
                if x + w > cur.clip.minX {
                    // Right half of a wide character at the left clip edge.
                    write(x: cur.clip.minX, y: cur.y, 0x20, 1, cur.style)
                }
                cur.x += w
                continue
            }
            if w == 2 && x + 1 >= cur.clip.maxX {
                write(x: x, y: cur.y, 0x20, 1, cur.style)
                cur.lastWritten = -1
                cur.x += 2
                continue
            }
            write(x: x, y: cur.y, code, w, cur.style)
            cur.lastWritten = cur.y * width + x
            cur.x += w
        }
    }

    /// Convenience for `put(_:at:style:clip:)`.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style = .plain, clip: Rect? = nil) -> Int {
        put(text, at: Point(x: x, y: y), style: style, clip: clip)
    }

    /// Writes `text` in `rect`'s first row, truncated with an ellipsis and aligned.
    public mutating func put(_ text: String, in rect: Rect, alignment: Alignment = .left, style: Style = .plain) {
        guard !rect.isEmpty else { return }
        var t = text
        var w = DisplayWidth.of(t)
        if w > rect.width {
            t = Text.truncate(t, columns: rect.width, ellipsis: glyphs.ellipsis)
            w = DisplayWidth.of(t)
        }
        let pad = max(0, rect.width - w)
        let x: Int
        switch alignment {
        case .left: x = rect.x
        case .right: x = rect.x + pad
        case .center: x = rect.x + pad / 2
        }
        put(t, at: Point(x: x, y: rect.y), style: style, clip: rect.row(0))
    }

    private mutating func write(x: Int, y: Int, _ code: UInt32, _ w: Int, _ style: Style) {
        let i = y * width + x
        let old = cells[i]
        if old.width == 0, x > 0 {
            // Overwriting the right half of a wide character: its left half becomes a space.
            cells[i - 1].code = 0x20
            cells[i - 1].width = 1
        }
        if old.width == 2, w != 2, x + 1 < width {
            // Overwriting the left half of a wide character with a narrow one.
            cells[i + 1].code = 0x20
            cells[i + 1].width = 1
        }
        let merged = Style(fg: style.fg ?? old.style.fg, bg: style.bg ?? old.style.bg, attributes: style.attributes)
        cells[i] = Cell(code: code, width: UInt8(w), style: merged)
        if w == 2 {
            let j = i + 1
            if cells[j].width == 2, x + 2 < width {
                cells[j + 1].code = 0x20
                cells[j + 1].width = 1
            }
            cells[j] = Cell(code: 0, width: 0, style: merged)
        }
    }

    /// Fills `rect` with a one-column character (default a space) in `style`, drawn over the
    /// cells' styles as `put` does. A two-column character fills every other column.
    public mutating func fill(_ rect: Rect, with character: String = " ", style: Style = .plain) {
        let r = rect.intersection(bounds)
        guard !r.isEmpty else { return }
        let w = max(1, DisplayWidth.of(character))
        let code = Cell.encode(character)
        for y in r.minY..<r.maxY {
            var x = r.minX
            while x < r.maxX {
                if w == 2 && x + 1 >= r.maxX {
                    write(x: x, y: y, 0x20, 1, style)
                } else {
                    write(x: x, y: y, code, w, style)
                }
                x += w
            }
        }
    }

    /// Resets `rect` (default: everything) to blank cells with no style.
    public mutating func clear(_ rect: Rect? = nil) {
        let r = (rect ?? bounds).intersection(bounds)
        guard !r.isEmpty else { return }
        if r == bounds {
            for i in cells.indices { cells[i] = .blank }
            return
        }
        fill(r, with: " ", style: .plain)
        for y in r.minY..<r.maxY {
            for x in r.minX..<r.maxX { cells[y * width + x].style = .plain }
        }
    }

    /// Draws `style` over the cells of `rect` without changing their text (nil colours keep
    /// the cells' colours; attributes are added).
    public mutating func applyStyle(_ style: Style, to rect: Rect) {
        let r = rect.intersection(bounds)
        guard !r.isEmpty else { return }
        for y in r.minY..<r.maxY {
            for x in r.minX..<r.maxX {
                let i = y * width + x
                let old = cells[i].style
                cells[i].style = Style(fg: style.fg ?? old.fg, bg: style.bg ?? old.bg,
                                       attributes: old.attributes.union(style.attributes))
            }
        }
    }

    /// Copies `other` into this buffer with its top-left at `origin` (clipped).
    public mutating func blit(_ other: Buffer, at origin: Point) {
        for y in 0..<other.height {
            let ty = origin.y + y
            guard ty >= 0, ty < height else { continue }
            for x in 0..<other.width {
                let tx = origin.x + x
                guard tx >= 0, tx < width else { continue }
                cells[ty * width + tx] = other.cells[y * other.width + x]
            }
            // Repair wide characters cut by the edges.
            for tx in [max(0, origin.x), min(width - 1, origin.x + other.width - 1)] where tx >= 0 && tx < width {
                let i = ty * width + tx
                if cells[i].width == 0 && (tx == 0 || cells[i - 1].width != 2) {
                    cells[i].code = 0x20; cells[i].width = 1
                }
                if cells[i].width == 2 && (tx + 1 >= width || cells[i + 1].width != 0) {
                    cells[i].code = 0x20; cells[i].width = 1
                }
            }
        }
    }

    // MARK: Output

    /// The cells that differ from `old`, as runs along rows. Runs separated by fewer than
    /// `mergeGap` unchanged cells are merged (rewriting a few cells is cheaper than moving the
    /// cursor). When the sizes differ every row is one run.
    public func diff(from old: Buffer, mergeGap: Int = 3) -> [BufferRun] {
        var runs: [BufferRun] = []
        if old.width != width || old.height != height {
            for y in 0..<height {
                runs.append(BufferRun(x: 0, y: y, cells: Array(cells[(y * width)..<((y + 1) * width)])))
            }
            return runs
        }
        for y in 0..<height {
            let base = y * width
            var x = 0
            while x < width {
                if cells[base + x] == old.cells[base + x] {
                    x += 1
                    continue
                }
                var start = x
                if cells[base + start].width == 0, start > 0 { start -= 1 }
                var end = x + 1  // exclusive
                var probe = end
                while probe < width {
                    if cells[base + probe] != old.cells[base + probe] {
                        end = probe + 1
                        probe += 1
                    } else if probe - end < mergeGap {
                        probe += 1
                    } else {
                        break
                    }
                }
                if end < width, cells[base + end - 1].width == 2 || cells[base + end].width == 0 {
                    end += 1
                }
                runs.append(BufferRun(x: start, y: y, cells: Array(cells[(base + start)..<(base + end)])))
                x = end
            }
        }
        return runs
    }

    /// Plain-text lines, one per row (each exactly `width` columns wide).
    public func render() -> [String] {
        (0..<height).map { renderRow($0) }
    }

    public func renderRow(_ y: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(width + 16)
        for x in 0..<width { cells[y * width + x].appendUTF8(to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The text of the cells in `rect`, one line per row.
    public func text(in rect: Rect) -> [String] {
        let r = rect.intersection(bounds)
        guard !r.isEmpty else { return [] }
        return (r.minY..<r.maxY).map { y in
            var bytes: [UInt8] = []
            for x in r.minX..<r.maxX { cells[y * width + x].appendUTF8(to: &bytes) }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// A style map for snapshots: one letter per cell naming its style (`.` for no style),
    /// letters assigned in reading order, and a legend (`a = title bold`).
    public func renderStyles() -> StyleMap {
        var letters: [Style: Character] = [:]
        var legend: [String] = []
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var grid: [String] = []
        for y in 0..<height {
            var line = ""
            for x in 0..<width {
                let st = cells[y * width + x].style
                if st == .plain {
                    line.append(".")
                    continue
                }
                if let l = letters[st] {
                    line.append(l)
                } else {
                    let l = letters.count < alphabet.count ? alphabet[letters.count] : "?"
                    letters[st] = l
                    legend.append("\(l) = \(st)")
                    line.append(l)
                }
            }
            grid.append(line)
        }
        return StyleMap(grid: grid, legend: legend)
    }
}

/// See `Buffer.renderStyles()`.
public struct StyleMap: Hashable, Sendable {
    public var grid: [String]
    public var legend: [String]
}
