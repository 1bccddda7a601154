import TUI

/// TermColor -> curses colour number, for the number of colours the terminal has.
///
/// Truecolor is not drawn through ncurses: 24-bit colours need a direct-colour terminfo entry
/// (`*-direct`) and `init_extended_color` per colour, which few installations set up. Themes are
/// resolved to the xterm 256-colour cube instead (`TerminalScreen.colorMode` is capped at
/// `.palette256`); an `.rgb` that still arrives here goes to its nearest palette entry.
enum ColorMapping {
    /// The curses number for `color` on a terminal with `colors` colours. `defaultColors` is
    /// whether -1 (the terminal's own default, `use_default_colors`) is allowed; without it the
    /// default becomes white on black, as in classic curses.
    static func cursesColor(_ color: TermColor, colors: Int, defaultColors: Bool = true,
                            foreground: Bool = true) -> Int32 {
        guard colors >= 8 else { return -1 }
        switch color {
        case .terminalDefault:
            return defaultColors ? -1 : (foreground ? 7 : 0)
        case .indexed(let i):
            if Int(i) < colors { return Int32(i) }
            // 8-colour terminal given a 256-colour index: bright 8-15 fold onto 0-7, the cube
            // and grey ramp go to their nearest ANSI colour.
            if i < 16 { return Int32(i - 8) }
            return Int32(Palette.nearest8(Palette.xterm256(i)))
        case .rgb(let c):
            return Int32(colors >= 256 ? Palette.nearest256(c) : Palette.nearest8(c))
        }
    }
}
