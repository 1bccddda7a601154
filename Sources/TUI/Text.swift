/// Horizontal alignment in a fixed width.
public enum Alignment: Hashable, Sendable {
    case left, right, center
}

/// Display-width aware string helpers.
public enum Text {
    public static func width(_ s: String) -> Int { DisplayWidth.of(s) }

    /// The longest prefix of `s` that fits in `columns` (a wide character that would straddle
    /// the limit is dropped), and its width.
    public static func prefix(_ s: String, columns: Int) -> (text: String, width: Int) {
        guard columns > 0 else { return ("", 0) }
        var out = ""
        var w = 0
        for ch in s {
            let cw = DisplayWidth.of(ch)
            if w + cw > columns { break }
            out.append(ch)
            w += cw
        }
        return (out, w)
    }

    /// The longest suffix of `s` that fits in `columns`, and its width.
    public static func suffix(_ s: String, columns: Int) -> (text: String, width: Int) {
        guard columns > 0 else { return ("", 0) }
        var chars: [Character] = []
        var w = 0
        for ch in s.reversed() {
            let cw = DisplayWidth.of(ch)
            if w + cw > columns { break }
            chars.append(ch)
            w += cw
        }
        return (String(chars.reversed()), w)
    }

    /// `s` cut to `columns` with `ellipsis` at the end when it does not fit.
    public static func truncate(_ s: String, columns: Int, ellipsis: String = "…") -> String {
        guard columns > 0 else { return "" }
        if DisplayWidth.of(s) <= columns { return s }
        let ew = DisplayWidth.of(ellipsis)
        if ew >= columns { return Text.prefix(ellipsis, columns: columns).text }
        return prefix(s, columns: columns - ew).text + ellipsis
    }

    /// `s` cut to `columns` with `ellipsis` at the start when it does not fit (keeps the end).
    public static func truncateLeading(_ s: String, columns: Int, ellipsis: String = "…") -> String {
        guard columns > 0 else { return "" }
        if DisplayWidth.of(s) <= columns { return s }
        let ew = DisplayWidth.of(ellipsis)
        if ew >= columns { return Text.prefix(ellipsis, columns: columns).text }
        return ellipsis + suffix(s, columns: columns - ew).text
    }

    /// `s` padded with spaces (or truncated with `ellipsis`) to exactly `columns`.
    public static func fit(_ s: String, width columns: Int, alignment: Alignment = .left, ellipsis: String = "…") -> String {
        guard columns > 0 else { return "" }
        let t = truncate(s, columns: columns, ellipsis: ellipsis)
        var w = DisplayWidth.of(t)
        var t2 = t
        if w > columns {  // a wide ellipsis; never with the shipped glyphs
            t2 = prefix(t, columns: columns).text
            w = DisplayWidth.of(t2)
        }
        let pad = columns - w
        switch alignment {
        case .left: return t2 + String(repeating: " ", count: pad)
        case .right: return String(repeating: " ", count: pad) + t2
        case .center:
            let l = pad / 2
            return String(repeating: " ", count: l) + t2 + String(repeating: " ", count: pad - l)
        }
    }

    /// Control characters made visible: newline, tab and carriage return as the glyph set's
    /// `newline`/`tab`/`carriageReturn`, other C0/C1 controls as caret notation (`^A`), DEL `^?`.
    public static func visible(_ s: String, glyphs: Glyphs) -> String {
        // Controls are bytes < 0x20 and 0x7F in UTF-8, C1 controls start with 0xC2 0x80-0x9F.
        var hasControl = false
        var prevC2 = false
        for b in s.utf8 {
            if b < 0x20 || b == 0x7F || (prevC2 && b < 0xA0) {
                hasControl = true
                break
            }
            prevC2 = b == 0xC2
        }
        guard hasControl else { return s }
        var out = ""
        for ch in s {
            let scalars = ch.unicodeScalars
            guard let f = scalars.first, DisplayWidth.isControl(f) else {
                out.append(ch)
                continue
            }
            for sc in scalars {
                switch sc.value {
                case 0x0A: out += glyphs.newline
                case 0x09: out += glyphs.tab
                case 0x0D: out += glyphs.carriageReturn
                case 0x7F: out += "^?"
                case 0..<0x20: out += "^" + String(UnicodeScalar(UInt8(sc.value + 0x40)))
                case 0x80..<0xA0: out += "<\(String(sc.value, radix: 16))>"
                default: out.unicodeScalars.append(sc)
                }
            }
        }
        return out
    }

    /// Word-wraps `s` to lines of at most `columns` (words longer than a line are split).
    /// Newlines in `s` start new lines.
    public static func wrap(_ s: String, columns: Int) -> [String] {
        guard columns > 0 else { return [] }
        var lines: [String] = []
        for para in s.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            var lw = 0
            for word in para.split(separator: " ", omittingEmptySubsequences: true) {
                var wstr = String(word)
                var ww = DisplayWidth.of(wstr)
                if lw > 0 && lw + 1 + ww <= columns {
                    line += " " + wstr
                    lw += 1 + ww
                    continue
                }
                if lw > 0 {
                    lines.append(line)
                    line = ""
                    lw = 0
                }
                while ww > columns {
                    let p = prefix(wstr, columns: columns)
                    let head = p.text.isEmpty ? String(wstr.first!) : p.text
                    lines.append(head)
                    wstr = String(wstr.dropFirst(head.count))
                    ww = DisplayWidth.of(wstr)
                }
                line = wstr
                lw = ww
            }
            lines.append(line)
        }
        return lines
    }
}
