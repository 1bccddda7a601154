import Foundation
import Glibc
import TUI
import XCTest
@testable import Terminal

/// Real-terminal checks: `TerminalScreen` on a pseudo-terminal inside the test process (open
/// errors, drawing, diffing, keys, mouse, wake-ups, resize, signals, restore), and in tmux for
/// what a process can only do once (crash, exit).
final class TerminalSmokeTests: XCTestCase {
    private let env = ["TERM": "xterm-256color"]
    private var savedLocale = ""
    private var savedEnv: [String: String?] = [:]

    override func setUp() {
        savedLocale = String(cString: setlocale(LC_ALL, nil))
        // A UTF-8 locale for the session (setlocale(LC_ALL, "") in open reads it) and no
        // LINES/COLUMNS pinning the size.
        for (k, v) in [("LC_ALL", "C.UTF-8"), ("LINES", nil), ("COLUMNS", nil)] as [(String, String?)] {
            savedEnv[k] = ProcessInfo.processInfo.environment[k]
            if let v { setenv(k, v, 1) } else { unsetenv(k) }
        }
    }

    override func tearDown() {
        for (k, v) in savedEnv {
            if let v { setenv(k, v, 1) } else { unsetenv(k) }
        }
        setlocale(LC_ALL, savedLocale)
    }

    // MARK: Open errors

    func testOpenThrowsWhenStdoutIsNotATerminal() throws {
        let pty = try PseudoTerminal(width: 40, height: 10)
        let devNull = open("/dev/null", O_WRONLY)
        defer { close(devNull) }
        pty.attach(stdoutFD: devNull)
        var caught: Error?
        do { _ = try TerminalScreen.open(environment: env) } catch { caught = error }
        pty.detach()
        XCTAssertEqual(caught as? TerminalError, .notATerminal(stream: "stdout"))
        let line = "\(caught!)"
        XCTAssertFalse(line.contains("\n"), line)
        XCTAssertTrue(line.hasPrefix("saescope: "), line)
        XCTAssertTrue(line.contains("stdout is not a tty"), line)
        XCTAssertTrue(line.contains("saescope eval"), line)
    }

    func testOpenThrowsWhenStdinIsNotATerminal() throws {
        let pty = try PseudoTerminal(width: 40, height: 10)
        let devNull = open("/dev/null", O_RDONLY)
        defer { close(devNull) }
        pty.attach(stdinFD: devNull)
        var caught: Error?
        do { _ = try TerminalScreen.open(environment: env) } catch { caught = error }
        pty.detach()
        XCTAssertEqual(caught as? TerminalError, .notATerminal(stream: "stdin"))
    }

    /// Under `swift test` stdout is usually a pipe: opening must fail cleanly, not exit.
    func testOpenUnderTheTestRunner() throws {
        guard isatty(STDOUT_FILENO) == 0 || isatty(STDIN_FILENO) == 0 else {
            throw XCTSkip("the test runner's stdin and stdout are a terminal here")
        }
        XCTAssertThrowsError(try TerminalScreen.open(environment: env)) { error in
            guard case .notATerminal? = error as? TerminalError else { return XCTFail("\(error)") }
        }
    }

    func testUnknownOrMissingTerminalType() throws {
        let pty = try PseudoTerminal(width: 40, height: 10)
        pty.attach()
        var unknown: Error?, missing: Error?
        do { _ = try TerminalScreen.open(environment: ["TERM": "no-such-terminal-xyz"]) } catch { unknown = error }
        do { _ = try TerminalScreen.open(environment: [:]) } catch { missing = error }
        pty.detach()
        XCTAssertEqual(unknown as? TerminalError, .unknownTerminal(term: "no-such-terminal-xyz"))
        XCTAssertEqual(missing as? TerminalError, .unknownTerminal(term: nil))
        for e in [unknown, missing] { XCTAssertFalse("\(e!)".contains("\n")) }
        XCTAssertFalse(TerminalGuard.isScreenOpen)
    }

    // MARK: A session on a pseudo-terminal

    func testSession() throws {
        let c = DeferredChecks()
        defer { c.report() }
        let pty = try PseudoTerminal(width: 40, height: 12)
        let before = pty.termiosState
        pty.attach()
        defer { pty.detach() }
        let screen = try TerminalScreen.open(environment: env)
        defer { screen.restore() }

        c.equal(screen.width, 40)
        c.equal(screen.height, 12)
        c.equal(screen.colorMode, .palette256)
        c.equal(screen.glyphs, .unicode)
        do {
            _ = try TerminalScreen.open(environment: env)
            c.fail("a second open succeeded")
        } catch {
            c.equal(error as? TerminalError, .alreadyOpen)
        }
        let setup = pty.readOutput()
        c.isTrue(setup.contains("\u{1B}[?1049h"), "alternate screen: \(setup.debugDescription)")
        c.isTrue(setup.contains("\u{1B}[?1006;1000h"), "mouse reporting: \(setup.debugDescription)")
        c.isTrue(setup.contains("\u{1B}[?25l"), "hidden cursor: \(setup.debugDescription)")
        c.equal(pty.termiosState.c_lflag & tcflag_t(ICANON | ECHO | ISIG), 0, "raw, no echo")

        // First frame: everything, with colours.
        var buffer = screen.makeBuffer()
        c.equal(buffer.width, 40)
        buffer.put("hello", x: 2, y: 1, style: Style(.title, [.bold]))
        buffer.put("中文 ok", x: 0, y: 3)
        buffer.put("corner", x: 34, y: 11)  // the bottom-right cell must not scroll the screen
        screen.present(buffer, theme: .dark)
        let first = pty.readOutput()
        c.isTrue(first.contains("hello"), first.debugDescription)
        c.isTrue(first.contains("中文"), first.debugDescription)
        c.isTrue(first.contains("corne"), first.debugDescription)
        c.isTrue(first.contains("38;5;") || first.contains("\u{1B}[3"), "256-colour foreground: \(first.debugDescription)")

        // Second frame: only the changed cell goes out.
        buffer.put("p", x: 6, y: 1, style: Style(.title, [.bold]))
        screen.present(buffer, theme: .dark)
        let second = pty.readOutput()
        c.isTrue(second.contains("p"), second.debugDescription)
        c.isTrue(!(second.contains("hell")), second.debugDescription)
        c.isTrue(second.utf8.count < 80, second.debugDescription)

        // Unchanged frame: nothing at all.
        screen.present(buffer, theme: .dark)
        c.equal(pty.readOutput(quiet: 0.1), "")

        // Keys, mouse (SGR 1006 as xterm sends it) and a lone Esc.
        pty.type("q\u{1B}OA\u{03}é\u{1B}[<0;5;3M\u{1B}[<0;5;3m\u{1B}[<64;1;1M\u{1B}[<65;2;2M\u{1B}[6~\u{1B}OP\t\r\u{7F}")
        var keys = collectKeys(screen, count: 13)
        c.equal(keys, [
            .char("q"), .up, .ctrl("c"), .char("é"),
            .mouse(MouseEvent(.press(button: 1), x: 4, y: 2)),
            .mouse(MouseEvent(.release(button: 1), x: 4, y: 2)),
            .mouse(MouseEvent(.wheelUp, x: 0, y: 0)),
            .mouse(MouseEvent(.wheelDown, x: 1, y: 1)),
            .pageDown, .function(1), .tab, .enter, .backspace,
        ])
        pty.type("\u{1B}")
        keys = collectKeys(screen, count: 1)
        c.equal(keys, [.escape])

        // Timeout with nothing pending.
        var t0 = Date()
        c.equal(screen.nextEvents(timeoutMilliseconds: 50), [])
        c.isTrue(Date().timeIntervalSince(t0) >= 0.04)

        // A wake-up from another thread ends a long wait early.
        let pipe = screen.wakePipe
        let worker = Thread { usleep(50_000); pipe.wake() }
        t0 = Date()
        worker.start()
        c.equal(screen.nextEvents(timeoutMilliseconds: 10_000), [])
        c.isTrue(Date().timeIntervalSince(t0) < 5)

        // Resize: the kernel's new size, SIGWINCH (a pty not controlling us gets none, so it is
        // raised here), one .resize, then a full redraw.
        pty.resize(width: 30, height: 8)
        raise(SIGWINCH)
        keys = collectKeys(screen, count: 1)
        c.equal(keys, [.resize(width: 30, height: 8)])
        c.equal(screen.width, 30)
        c.equal(screen.height, 8)
        _ = pty.readOutput(quiet: 0.05)
        var small = screen.makeBuffer()
        small.put("again", x: 0, y: 0)
        screen.present(small, theme: .dark)
        let redraw = pty.readOutput()
        c.isTrue(redraw.contains("again"), redraw.debugDescription)
        c.isTrue(redraw.contains("\u{1B}[2J") || redraw.contains("\u{1B}[H\u{1B}[J"), "cleared: \(redraw.debugDescription)")

        // SIGTERM: a flag and a wake-up, no death.
        c.isTrue(!(screen.interruptRequested))
        raise(SIGTERM)
        t0 = Date()
        _ = screen.nextEvents(timeoutMilliseconds: 10_000)
        c.isTrue(Date().timeIntervalSince(t0) < 5)
        c.isTrue(screen.interruptRequested)
        c.equal(TerminalGuard.interruptSignal, SIGTERM)
        TerminalGuard.clearInterrupt()
        c.isTrue(!(screen.interruptRequested))

        // Restore: normal modes, main screen, cursor, mouse off; twice is harmless.
        screen.restore()
        screen.restore()
        let end = pty.readOutput()
        c.isTrue(end.contains("\u{1B}[?1049l"), end.debugDescription)
        c.isTrue(end.contains("\u{1B}[?25h"), end.debugDescription)
        c.isTrue(end.contains("\u{1B}[?1006;1000l"), end.debugDescription)
        let after = pty.termiosState
        c.equal(after.c_lflag, before.c_lflag)
        c.equal(after.c_iflag, before.c_iflag)
        c.isTrue(!(TerminalGuard.isScreenOpen))
        c.equal(screen.nextEvents(timeoutMilliseconds: 1000), [])
        screen.present(buffer, theme: .dark)
        c.equal(pty.readOutput(quiet: 0.1), "")

    }

    /// After the screen is gone, signals behave as before it opened: no handler of ours or of
    /// ncurses is left behind (the test runner has none of its own for these).
    func testSignalDispositionsAreRestored() throws {
        let pty = try PseudoTerminal(width: 20, height: 5)
        pty.attach()
        do {
            let screen = try TerminalScreen.open(environment: env)
            screen.restore()
        }  // and deinit (delscreen)
        pty.detach()
        for s in [SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGTSTP] {
            var current = sigaction()
            sigaction(s, nil, &current)
            XCTAssertNil(current.__sigaction_handler.sa_handler, "signal \(s) back to SIG_DFL")
        }
    }

    func testNoColorAndMouseOff() throws {
        let c = DeferredChecks()
        defer { c.report() }
        let pty = try PseudoTerminal(width: 20, height: 5)
        pty.attach()
        defer { pty.detach() }
        let screen = try TerminalScreen.open(environment: ["TERM": "xterm-256color", "NO_COLOR": "1"], mouse: false)
        defer { screen.restore() }
        c.equal(screen.colorMode, .monochrome)
        c.isTrue(screen.makeBuffer().monochrome)
        let setup = pty.readOutput()
        c.isTrue(!(setup.contains("1000h")), setup.debugDescription)
        var b = screen.makeBuffer()
        b.put("sel", x: 0, y: 0, style: .bg(.selection))
        screen.present(b, theme: .dark)
        let out = pty.readOutput()
        c.isTrue(out.contains("sel"), out.debugDescription)
        c.isTrue(!(out.contains("38;5;")), "no colours: \(out.debugDescription)")
        c.isTrue(out.contains("\u{1B}[7m") || out.contains(";7m"), "selection as reverse: \(out.debugDescription)")
    }

    func testEightColourTerminal() throws {
        let c = DeferredChecks()
        defer { c.report() }
        let pty = try PseudoTerminal(width: 20, height: 5)
        pty.attach()
        defer { pty.detach() }
        let screen = try TerminalScreen.open(environment: ["TERM": "xterm", "COLORTERM": "truecolor"])
        defer { screen.restore() }
        c.equal(screen.colorMode, .palette8, "truecolor claims are capped by what terminfo can draw")
        _ = pty.readOutput()
        var b = screen.makeBuffer()
        b.put("err", x: 0, y: 0, style: .fg(.error))
        screen.present(b, theme: .dark)
        let out = pty.readOutput()
        c.isTrue(out.contains("err"), out.debugDescription)
        c.isTrue(!(out.contains("38;5;")), out.debugDescription)
    }

    /// The crash handler's restore, called directly: fixed escape sequences and the termios from
    /// before the screen opened.
    func testEmergencyRestore() throws {
        let c = DeferredChecks()
        defer { c.report() }
        let pty = try PseudoTerminal(width: 20, height: 5)
        let before = pty.termiosState
        pty.attach()
        defer { pty.detach() }
        let screen = try TerminalScreen.open(environment: env)
        defer { screen.restore() }
        _ = pty.readOutput()
        c.isTrue(pty.termiosState.c_lflag != before.c_lflag)
        TerminalGuard.emergencyRestore()
        let out = pty.readOutput()
        c.equal(out, TerminalGuard.emergencyRestoreSequence.description)
        c.equal(pty.termiosState.c_lflag, before.c_lflag)
        c.equal(pty.termiosState.c_iflag, before.c_iflag)
        TerminalGuard.emergencyRestore()
        c.equal(pty.readOutput(quiet: 0.1), "", "runs once")
    }

    func testGlyphChoiceFollowsTheCLibrary() {
        setlocale(LC_ALL, "C.UTF-8")
        let plain = Style.plain
        XCTAssertEqual(TerminalScreen.glyph(for: Cell("a")), .asIs)
        XCTAssertEqual(TerminalScreen.glyph(for: Cell(code: 0, width: 1, style: plain)), .replace(0x20))
        XCTAssertEqual(TerminalScreen.glyph(for: Cell(code: 7, width: 1, style: plain)), .replace(0x3F))
        XCTAssertEqual(TerminalScreen.glyph(for: Cell(code: 0x85, width: 1, style: plain)), .replace(0x3F))
        XCTAssertEqual(TerminalScreen.glyph(for: Cell("é")), .asIs)
        XCTAssertEqual(TerminalScreen.glyph(for: Cell("中", width: 2)), .asIs)
        XCTAssertEqual(TerminalScreen.glyph(for: Cell("é", width: 2)), .narrowerThanCell)
        XCTAssertEqual(TerminalScreen.glyph(for: Cell("中", width: 1)), .replace(0x3F))
        XCTAssertEqual(TerminalScreen.glyph(for: Cell("e\u{301}")), .asIs)
        // Outside UTF-8 the C library cannot print it: a placeholder keeps the columns.
        setlocale(LC_ALL, "C")
        XCTAssertEqual(TerminalScreen.glyph(for: Cell("é")), .replace(0x3F))
        XCTAssertEqual(TerminalScreen.glyph(for: Cell("a")), .asIs)
    }

    private func collectKeys(_ screen: TerminalScreen, count: Int, limit: Double = 5) -> [Key] {
        var keys: [Key] = []
        let start = Date()
        while keys.count < count && Date().timeIntervalSince(start) < limit {
            keys += screen.nextEvents(timeoutMilliseconds: 200)
        }
        return keys
    }
}
