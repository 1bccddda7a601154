/// Terminal display width (columns) of scalars, grapheme clusters and strings.
///
/// - East Asian Wide/Fullwidth and emoji: 2 columns.
/// - Combining marks, format characters, ZWJ, variation selectors: 0 (they join the cluster
///   before them, so a `Character` that starts with a base character takes the base's width).
/// - A cluster holding U+FE0F (emoji presentation) is 2 columns ("❤️", "1️⃣").
/// - Control characters measure 1: `Buffer` draws each as one replacement glyph.
public enum DisplayWidth {
    /// Width of one scalar from the range table: 0, 1 or 2. Controls are 1 (see the type).
    @inlinable
    public static func of(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if v < 0x300 { return 1 }  // ASCII, Latin-1, Latin Extended, controls: all 1
        return lookup(v)
    }

    @usableFromInline
    static func lookup(_ v: UInt32) -> Int {
        let t = table
        var lo = 0
        var hi = t.count / 3 - 1
        while lo <= hi {
            let mid = (lo + hi) >> 1
            let a = t[mid * 3]
            if v < a {
                hi = mid - 1
            } else if v > t[mid * 3 + 1] {
                lo = mid + 1
            } else {
                return Int(t[mid * 3 + 2])
            }
        }
        return 1
    }

    /// Whether the scalar is a C0/C1 control or DEL (drawn as a replacement glyph).
    @inlinable
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v < 0x20 || (v >= 0x7F && v < 0xA0)
    }

    /// Width of one grapheme cluster.
    public static func of(_ character: Character) -> Int {
        let scalars = character.unicodeScalars
        guard let first = scalars.first else { return 0 }
        // Fast path: a single ASCII scalar.
        if first.value < 0x7F, scalars.count == 1 { return 1 }
        if isControl(first) { return 1 }
        var base = of(first)
        if base == 0 {
            // A cluster that starts with a joiner or mark (only at the start of a string):
            // take the first scalar with a width, if any.
            for s in scalars.dropFirst() where of(s) > 0 {
                base = of(s)
                break
            }
        }
        if base == 1, scalars.count > 1, scalars.contains(where: { $0.value == 0xFE0F }) {
            return 2
        }
        return base
    }

    /// Width of a string: the sum of its grapheme clusters' widths.
    public static func of(_ string: String) -> Int {
        if string.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return string.utf8.count }
        var total = 0
        if !string.unicodeScalars.contains(where: needsSegmentation) {
            for s in string.unicodeScalars { total += of(s) }
            return total
        }
        for c in string { total += of(c) }
        return total
    }

    /// Whether a scalar can join a neighbour into one grapheme cluster, so that text holding it
    /// needs full grapheme segmentation (text without any such scalar is one cluster per
    /// scalar): zero-width marks, joiners and selectors, CR, regional indicators, emoji
    /// modifiers, conjoining Hangul jamo, prepended concatenation marks.
    @inlinable
    public static func needsSegmentation(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x300 { return v == 0x0D }
        if v >= 0x1100 && v <= 0x11FF { return true }
        if (v >= 0xA960 && v <= 0xA97F) || (v >= 0xD7B0 && v <= 0xD7FF) { return true }
        if v >= 0x1F1E6 && v <= 0x1F1FF { return true }
        if v >= 0x1F3FB && v <= 0x1F3FF { return true }
        if (v >= 0x600 && v <= 0x605) || v == 0x6DD || v == 0x70F || v == 0x890 || v == 0x891 || v == 0x8E2
            || v == 0x110BD || v == 0x110CD
        {
            return true
        }
        return lookup(v) == 0
    }
}
