import CNcurses
import Glibc
import Synchronization

// Signal handlers run on whatever thread the kernel picks, at any instruction, so they may only
// touch storage that needs no lock and no allocation: the atomics and raw pointers below. All
// of it is created (and Swift's lazy global initialisation run) by `TerminalGuard.install`
// before any handler is installed, so a handler never triggers an initialiser.

/// The signal that asked the loop to quit (SIGINT, SIGTERM, SIGHUP), or 0.
private let interruptSignalStore = Atomic<Int32>(0)
/// Set by the SIGWINCH handler; the loop consumes it and checks the terminal size.
private let resizeSignalled = Atomic<Bool>(false)
/// The wake pipe's write end while a screen is open, else -1.
private let wakeFDStore = Atomic<Int32>(-1)
/// True while the terminal is in curses mode and the emergency restore should run.
private let emergencyRestoreArmed = Atomic<Bool>(false)
/// True between `newterm` and `endwin`, for the atexit hook.
private let cursesActive = Atomic<Bool>(false)
private let atexitRegistered = Atomic<Bool>(false)

/// Highest signal number we keep a previous action for (Linux: 64 plus one).
private let signalSlots = 65
// Raw storage rather than Swift globals of struct type: a handler passing `&global` to C would
// go through Swift's dynamic exclusivity checks; a pointer does not. `nonisolated(unsafe)`
// because the pointees are written only by `saveOriginalHandlers`, `install` and `uninstall` on
// the UI thread, while our handlers are not (yet, or any more) installed, and only read by them.
nonisolated(unsafe) private let savedTermios = UnsafeMutablePointer<termios>.allocate(capacity: 1)
/// The action each signal had right before our handler went in (for SIGWINCH: ncurses' handler,
/// which ours chains to).
nonisolated(unsafe) private let previousActions = UnsafeMutablePointer<sigaction>.allocate(capacity: signalSlots)
nonisolated(unsafe) private let hasPreviousAction = UnsafeMutablePointer<Bool>.allocate(capacity: signalSlots)
/// The actions from before `newterm`: what `uninstall` puts back, and what a crash re-raises to
/// (SIG_DFL, or the Swift runtime's backtracer).
nonisolated(unsafe) private let originalActions = UnsafeMutablePointer<sigaction>.allocate(capacity: signalSlots)
nonisolated(unsafe) private let hasOriginalAction = UnsafeMutablePointer<Bool>.allocate(capacity: signalSlots)

/// Process-wide signal handling while the terminal interface is open:
///
/// - SIGINT, SIGTERM, SIGHUP set `interruptRequested` and wake the loop, which then quits and
///   restores the terminal normally. A second one while the first is still pending means the
///   loop is not responding: the terminal is restored in the handler and the signal's default
///   action (termination) runs.
/// - SIGWINCH: ncurses' own handler (installed by `newterm`) is chained, then the loop is woken,
///   so a resize is seen even while `poll()` waits, whichever thread the kernel delivered to.
/// - Crash signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP; Swift's `fatalError` and
///   failed preconditions trap with SIGILL on x86-64 and SIGTRAP on arm64): the terminal is put
///   back with async-signal-safe calls only, then the previous action (SIG_DFL, or the Swift
///   runtime's backtracer) is reinstated and the signal delivered again, so the crash report
///   prints on a sane terminal.
/// - `exit()` from anywhere: an atexit hook runs `endwin`.
/// - Each of these also replays what was written to stderr meanwhile (see `StderrCapture`).
public enum TerminalGuard {
    static let interruptSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    static let crashSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP]
    /// Every signal whose action is saved before newterm and put back by `uninstall`. SIGTSTP:
    /// newterm installs a handler for it that should not outlive the screen.
    static var managedSignals: [Int32] { interruptSignals + [SIGWINCH, SIGTSTP] + crashSignals }

    /// Leaves xterm's mouse modes, resets attributes, shows the cursor, leaves keypad-transmit
    /// mode (so arrows work in the shell again) and leaves the alternate screen. Fixed bytes,
    /// because a crash handler cannot ask terminfo.
    static let emergencyRestoreSequence: StaticString =
        "\u{1B}[?1000l\u{1B}[?1002l\u{1B}[?1003l\u{1B}[?1006l\u{1B}[0m\u{1B}[?25h\u{1B}[?1l\u{1B}>\u{1B}[?1049l"

    /// True once SIGINT, SIGTERM or SIGHUP arrived: the loop should quit and restore.
    public static var interruptRequested: Bool { interruptSignalStore.load(ordering: .acquiring) != 0 }

    /// The signal behind `interruptRequested`, or nil.
    public static var interruptSignal: Int32? {
        let s = interruptSignalStore.load(ordering: .acquiring)
        return s == 0 ? nil : s
    }

    /// Clears `interruptRequested` (for an app that asks "really quit?" instead of quitting).
    public static func clearInterrupt() {
        interruptSignalStore.store(0, ordering: .releasing)
    }

    /// Whether SIGWINCH arrived since the last call.
    static func consumeResizeSignal() -> Bool {
        resizeSignalled.exchange(false, ordering: .acquiringAndReleasing)
    }

    /// Records the signal actions from before `newterm` (which adds handlers of its own).
    static func saveOriginalHandlers() {
        hasOriginalAction.initialize(repeating: false, count: signalSlots)
        for s in managedSignals {
            hasOriginalAction[Int(s)] = sigaction(s, nil, originalActions + Int(s)) == 0
        }
    }

    /// Puts back the actions recorded by `saveOriginalHandlers`.
    static func restoreOriginalHandlers() {
        for s in managedSignals where hasOriginalAction[Int(s)] {
            sigaction(s, originalActions + Int(s), nil)
        }
    }

    /// Installs every handler. `termios` is the terminal's state from before `newterm`, restored
    /// on a crash; `wakeFD` is the wake pipe's write end.
    static func install(termios saved: termios, wakeFD: Int32) {
        // Touch every global first so their one-time initialisers never run inside a handler.
        _ = interruptSignalStore.load(ordering: .relaxed)
        _ = resizeSignalled.load(ordering: .relaxed)
        _ = emergencyRestoreArmed.load(ordering: .relaxed)
        _ = cursesActive.load(ordering: .relaxed)
        _ = emergencyRestoreSequence.utf8CodeUnitCount
        hasPreviousAction.initialize(repeating: false, count: signalSlots)
        savedTermios.pointee = saved
        interruptSignalStore.store(0, ordering: .relaxed)
        resizeSignalled.store(false, ordering: .relaxed)
        wakeFDStore.store(wakeFD, ordering: .releasing)
        cursesActive.store(true, ordering: .releasing)
        emergencyRestoreArmed.store(true, ordering: .releasing)

        // SA_RESTART: worker threads' blocking reads should not fail with EINTR because the UI
        // got a signal (poll() is interrupted regardless, which is what the loop wants).
        for s in interruptSignals { setHandler(s, interruptHandler, flags: SA_RESTART) }
        setHandler(SIGWINCH, resizeHandler, flags: SA_RESTART)
        // SA_ONSTACK: a stack overflow can only be handled on an alternate stack, if one exists.
        for s in crashSignals { setHandler(s, crashHandler, flags: SA_ONSTACK) }

        if !atexitRegistered.exchange(true, ordering: .acquiringAndReleasing) {
            atexit { TerminalGuard.exitHook() }
        }
    }

    /// Puts back the handlers from before `newterm` (after a normal `endwin`).
    static func uninstall() {
        emergencyRestoreArmed.store(false, ordering: .releasing)
        cursesActive.store(false, ordering: .releasing)
        restoreOriginalHandlers()
        for s in managedSignals { hasPreviousAction[Int(s)] = false }
        wakeFDStore.store(-1, ordering: .releasing)
    }

    private typealias Handler = @convention(c) (Int32, UnsafeMutablePointer<siginfo_t>?, UnsafeMutableRawPointer?) -> Void

    private static func setHandler(_ sig: Int32, _ handler: Handler, flags: Int32) {
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = handler
        action.sa_flags = SA_SIGINFO | flags
        sigemptyset(&action.sa_mask)
        if sigaction(sig, &action, previousActions + Int(sig)) == 0 {
            hasPreviousAction[Int(sig)] = true
        }
    }

    private static let interruptHandler: Handler = { sig, _, _ in
        let savedErrno = errno
        if interruptSignalStore.compareExchange(expected: 0, desired: sig, ordering: .acquiringAndReleasing).exchanged {
            WakePipe.wake(fd: wakeFDStore.load(ordering: .acquiring))
        } else {
            // Asked twice: the loop is stuck. Restore, then die of the signal as if unhandled.
            TerminalGuard.emergencyRestore()
            var dfl = sigaction()
            dfl.__sigaction_handler.sa_handler = SIG_DFL
            sigemptyset(&dfl.sa_mask)
            sigaction(sig, &dfl, nil)
            raise(sig)
        }
        errno = savedErrno
    }

    private static let resizeHandler: Handler = { sig, info, context in
        let savedErrno = errno
        TerminalGuard.callPrevious(sig, info, context)
        resizeSignalled.store(true, ordering: .releasing)
        WakePipe.wake(fd: wakeFDStore.load(ordering: .acquiring))
        errno = savedErrno
    }

    private static let crashHandler: Handler = { sig, info, _ in
        TerminalGuard.emergencyRestore()
        // Reinstate what was there before us (SIG_DFL or the Swift backtracer) ...
        if hasOriginalAction[Int(sig)] {
            sigaction(sig, originalActions + Int(sig), nil)
        } else {
            var dfl = sigaction()
            dfl.__sigaction_handler.sa_handler = SIG_DFL
            sigaction(sig, &dfl, nil)
        }
        // ... and deliver the signal to it. A fault raised by the kernel (si_code > 0) recurs
        // by itself when the faulting instruction re-runs, with its real context for the
        // backtrace; a sent signal (abort(), kill) is raised again.
        if let info, info.pointee.si_code > 0, sig != SIGABRT { return }
        raise(sig)
    }

    /// Calls the handler that was installed before ours (ncurses' SIGWINCH handler).
    private static func callPrevious(_ sig: Int32, _ info: UnsafeMutablePointer<siginfo_t>?,
                                     _ context: UnsafeMutableRawPointer?) {
        guard hasPreviousAction[Int(sig)] else { return }
        let prev = previousActions + Int(sig)
        if prev.pointee.sa_flags & SA_SIGINFO != 0 {
            prev.pointee.__sigaction_handler.sa_sigaction?(sig, info, context)
        } else if let h = prev.pointee.__sigaction_handler.sa_handler {
            // SIG_DFL is 0 (nil here); SIG_IGN is 1 and must not be called.
            if unsafeBitCast(h, to: Int.self) != 1 { h(sig) }
        }
    }

    /// Restores the terminal from a signal handler: tcsetattr with the termios saved before
    /// newterm, then fixed escape sequences. Async-signal-safe; runs at most once per install.
    static func emergencyRestore() {
        guard emergencyRestoreArmed.exchange(false, ordering: .acquiringAndReleasing) else { return }
        cursesActive.store(false, ordering: .releasing)
        let seq = emergencyRestoreSequence
        _ = write(STDOUT_FILENO, seq.utf8Start, seq.utf8CodeUnitCount)
        _ = tcsetattr(STDOUT_FILENO, TCSANOW, savedTermios)
        StderrCapture.stopAndReplay()
    }

    /// atexit: `exit()` called while the interface is up (from any code path) still leaves a
    /// usable terminal. Not a signal context, so the proper ncurses calls are allowed.
    private static func exitHook() {
        guard cursesActive.exchange(false, ordering: .acquiringAndReleasing) else { return }
        emergencyRestoreArmed.store(false, ordering: .releasing)
        _ = mousemask(0, nil)
        _ = curs_set(1)
        _ = endwin()
        StderrCapture.stopAndReplay()
    }
}

extension TerminalGuard {
    /// Whether a screen is open (between `install` and `uninstall`/restore).
    static var isScreenOpen: Bool { cursesActive.load(ordering: .acquiring) }
}
