import CNcurses
import Foundation
import Glibc
import TUI

/// The terminal, through ncurses: set-up, input, drawing a `Buffer`, restore.
///
/// Owned by one thread (the UI loop's); not Sendable on purpose. Other threads wake the loop
/// through `wakePipe` (Sendable), never through the screen.
public final class TerminalScreen {
    /// Current size in cells, updated when a resize is decoded.
    public internal(set) var width: Int
    public internal(set) var height: Int
    /// How colours are drawn: detected from the environment (NO_COLOR, TERM, COLORTERM) and the
    /// terminal's colour count, capped at `.palette256` (see `ColorMapping` for why).
    public let colorMode: ColorMode
    /// Unicode glyphs when the locale's character set is UTF-8, else ASCII.
    public let glyphs: Glyphs
    /// Hand this to background jobs: `wakePipe.wake()` makes `nextEvents` return.
    public let wakePipe: WakePipe

    /// Colours the terminal has (COLORS after start_color; 0 without colour).
    let colorCount: Int
    /// Whether -1 ("the terminal's default colour") is usable (use_default_colors succeeded).
    let defaultColors: Bool
    private let screen: OpaquePointer
    var isActive = true

    // Drawing state (see TerminalScreen+Drawing.swift).
    var previous: Buffer?
    var needsFullRedraw = true
    var lastTheme: Theme?
    var looks: [Style: CellLook] = [:]
    var pairs: ColorPairCache
    let wideChars = UnsafeMutablePointer<wchar_t>.allocate(capacity: Int(CCHARW_MAX) + 1)

    // Input state (see TerminalScreen+Input.swift).
    var inputLost = false
    var inputPending = false

    /// Opens the interface on the process's terminal.
    ///
    /// - `environment` decides TERM (the terminfo entry ncurses loads) and the colour mode
    ///   (NO_COLOR, COLORTERM); the locale, and so the glyphs, come from the process's own
    ///   `setlocale(LC_ALL, "")`.
    /// - `mouse`: report clicks and the wheel (the terminal's own selection then needs Shift).
    ///
    /// Throws `TerminalError` (one-line descriptions) when stdin/stdout is not a tty, TERM is
    /// unknown, or a screen is already open. Installs `TerminalGuard`'s signal handlers.
    public static func open(environment: [String: String] = ProcessInfo.processInfo.environment,
                            mouse: Bool = true) throws -> TerminalScreen {
        // Before anything reads or writes text: ncursesw needs the locale to handle UTF-8.
        setlocale(LC_ALL, "")
        if isatty(STDOUT_FILENO) == 0 { throw TerminalError.notATerminal(stream: "stdout") }
        if isatty(STDIN_FILENO) == 0 { throw TerminalError.notATerminal(stream: "stdin") }
        if TerminalGuard.isScreenOpen { throw TerminalError.alreadyOpen }
        guard let term = environment["TERM"], !term.isEmpty else {
            throw TerminalError.unknownTerminal(term: nil)
        }

        // Saved before newterm changes anything: the crash handler restores exactly this, and
        // `restore()` puts back exactly these signal handlers (newterm adds its own for SIGINT,
        // SIGTERM, SIGWINCH and SIGTSTP, which should not outlive the screen).
        var saved = termios()
        tcgetattr(STDOUT_FILENO, &saved)
        let wake = try WakePipe()
        TerminalGuard.saveOriginalHandlers()

        // The kernel's window size wins over LINES/COLUMNS left in the environment by a shell,
        // which would otherwise pin the size and break resizing.
        use_tioctl(true)
        // newterm, not initscr: initscr prints and exits the process when TERM is unusable.
        guard let screen = term.withCString({ saescope_newterm($0) }) else {
            TerminalGuard.restoreOriginalHandlers()
            throw TerminalError.unknownTerminal(term: term)
        }
        set_term(screen)
        raw()  // Ctrl-C, Ctrl-Z, Ctrl-S arrive as keys, not signals or flow control
        noecho()
        nonl()  // Enter arrives as CR, and ncurses may use LF for cursor motion
        keypad(saescope_stdscr(), true)
        nodelay(saescope_stdscr(), true)  // get_wch never blocks: poll() does the waiting
        curs_set(0)
        set_escdelay(25)  // a lone Esc is reported after 25 ms, not ncurses' default second
        defineVT220EditingKeys()

        // Colour: the terminfo count decides the mode; start_color only when colours are used,
        // so NO_COLOR leaves the terminal's palette and pairs alone.
        let terminfoColors = has_colors() ? Int(tigetnum("colors")) : 0
        var mode = ColorMode.detect(environment: environment, terminalColors: max(0, terminfoColors))
        var colors = 0
        var defaults = false
        if mode != .monochrome {
            start_color()
            defaults = use_default_colors() == OK
            colors = Int(saescope_colors())
            if colors < 8 {
                mode = .monochrome
            } else if mode == .truecolor || mode == .palette256 {
                mode = colors >= 256 ? .palette256 : .palette8
            }
        }

        if mouse {
            // Presses and releases only, no CLICKED bits: asked for clicks, ncurses merges a
            // press and release that arrive together into one click and holds events back for
            // mouseinterval to see whether a double click follows. The wheel is buttons 4 and 5.
            var mask = saescope_report_mouse_position()
            for b: Int32 in 1...5 { mask |= saescope_button_pressed(b) | saescope_button_released(b) }
            _ = mousemask(mask, nil)
            _ = mouseinterval(0)
        }

        let s = TerminalScreen(screen: screen, wake: wake, mode: mode, colors: colors, defaultColors: defaults,
                               pairCapacity: mode == .monochrome ? 0 : Int(saescope_color_pairs()))
        TerminalGuard.install(termios: saved, wakeFD: wake.writeFD)
        StderrCapture.start()
        return s
    }

    /// Home and End as tmux, screen, rxvt and the Linux console send them (`ESC [1~`, `ESC [4~`,
    /// and `ESC [H`/`ESC [F` outside keypad mode) when TERM says xterm, whose terminfo lists only
    /// `ESC OH`/`ESC OF`: unknown to ncurses, they would arrive as Esc (closing a prompt) and
    /// three more keys. Definitions the terminfo entry already has are left alone.
    private static func defineVT220EditingKeys() {
        for (sequence, code) in [("\u{1B}[1~", KEY_HOME), ("\u{1B}[4~", KEY_END), ("\u{1B}[7~", KEY_HOME), ("\u{1B}[8~", KEY_END),
                                 ("\u{1B}[H", KEY_HOME), ("\u{1B}[F", KEY_END)] where key_defined(sequence) == 0 {
            _ = define_key(sequence, code)
        }
    }

    private init(screen: OpaquePointer, wake: WakePipe, mode: ColorMode, colors: Int, defaultColors: Bool,
                 pairCapacity: Int) {
        self.screen = screen
        wakePipe = wake
        colorMode = mode
        colorCount = colors
        self.defaultColors = defaultColors
        pairs = ColorPairCache(capacity: pairCapacity)
        width = Int(saescope_screen_width())
        height = Int(saescope_screen_height())
        glyphs = TerminalScreen.localeIsUTF8() ? .unicode : .ascii
    }

    /// Whether the locale set by `setlocale(LC_ALL, "")` encodes text as UTF-8. Asked of the C
    /// library rather than parsed from LANG, so LC_ALL/LC_CTYPE/LANG precedence and aliases
    /// ("en_US.utf8", "C.UTF-8") are handled the way ncurses will see them.
    static func localeIsUTF8() -> Bool {
        guard let cs = nl_langinfo(Int32(CODESET)) else { return false }
        let name = String(cString: cs).uppercased().replacingOccurrences(of: "-", with: "")
        return name == "UTF8"
    }

    /// A blank buffer of the current size, with this terminal's glyphs and monochrome flag.
    public func makeBuffer() -> Buffer {
        Buffer(width: width, height: height, glyphs: glyphs, monochrome: colorMode == .monochrome)
    }

    /// True once SIGINT, SIGTERM or SIGHUP arrived, or the terminal went away (input hung up):
    /// the loop should quit and call `restore()`.
    public var interruptRequested: Bool { TerminalGuard.interruptRequested || inputLost }

    /// Makes `nextEvents` return; same as `wakePipe.wake()`. Thread-safe, async-signal-safe.
    public func wake() {
        wakePipe.wake()
    }

    /// Gives the terminal back: mouse reporting off, cursor shown, `endwin`, signal handlers as
    /// before, and whatever was written to stderr while the screen was up printed after it.
    /// Idempotent; afterwards `present` and `nextEvents` do nothing.
    public func restore() {
        guard isActive else { return }
        isActive = false
        _ = mousemask(0, nil)
        _ = curs_set(1)
        _ = endwin()
        TerminalGuard.uninstall()
        StderrCapture.stopAndReplay()
    }

    deinit {
        restore()
        delscreen(screen)
        wideChars.deallocate()
    }
}
