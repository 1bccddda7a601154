/// Colour pairs allocated on first use. curses draws a cell with a numbered (fg, bg) pair that
/// must be defined first; a theme uses a few dozen combinations, so pairs are defined lazily and
/// remembered. Pair 0 is the terminal's default colours (after `use_default_colors`). When the
/// terminal's pairs run out (COLOR_PAIRS, 256 on old terminfo, 65536 with ncurses 6.1 extended
/// pairs) further combinations draw with pair 0: wrong colours, never a crash, and never a
/// redefinition that would recolour cells already on screen.
struct ColorPairCache {
    struct Colors: Hashable {
        var fg: Int32
        var bg: Int32
    }

    /// Number of pairs the terminal has (COLOR_PAIRS), pair 0 included.
    let capacity: Int
    private(set) var pairs: [Colors: Int32] = [:]
    private var next: Int32 = 1

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// Pairs handed out so far (pair 0 not counted).
    var allocated: Int { Int(next) - 1 }

    /// The pair for (fg, bg). `define(pair, fg, bg)` is called once per new pair to tell the
    /// terminal (`init_extended_pair`); when it fails the combination falls back to pair 0.
    mutating func pair(fg: Int32, bg: Int32, define: (Int32, Int32, Int32) -> Bool) -> Int32 {
        if fg == -1 && bg == -1 { return 0 }
        let key = Colors(fg: fg, bg: bg)
        if let p = pairs[key] { return p }
        guard Int(next) < capacity else {
            pairs[key] = 0
            return 0
        }
        let p = next
        if define(p, fg, bg) {
            next += 1
            pairs[key] = p
            return p
        }
        pairs[key] = 0
        return 0
    }
}
