import CNcurses
import Glibc
import TUI

extension TerminalScreen {
    /// At most this many keys per call; the rest are read on the next call (a huge paste then
    /// cannot starve the loop's drawing and job mailbox).
    static let maxEventsPerCall = 4096

    /// Waits up to `timeoutMilliseconds` (negative: no limit) for input or a wake-up, then
    /// returns every key that is pending, in order. An empty result means the time ran out or
    /// another thread (or a signal) woke the loop: check the job mailbox and
    /// `interruptRequested`. At most one `.resize` per call, after the keys, carrying the new
    /// size (`width`/`height` are already updated and the next `present` redraws everything).
    /// Once the terminal has hung up it returns at once, every time: the loop must check
    /// `interruptRequested` on every turn. Alt+key arrives as `.escape` then the key.
    public func nextEvents(timeoutMilliseconds: Int) -> [Key] {
        guard isActive else { return [] }
        var events: [Key] = []
        var resized = false
        // Keys ncurses already holds (or a paste cut short last time) are not visible to poll().
        if inputPending {
            inputPending = false
        } else {
            waitForInput(timeoutMilliseconds: timeoutMilliseconds)
        }
        wakePipe.drain()
        // Our SIGWINCH handler runs ncurses' own first, so when this is set ncurses has noticed
        // too and the drain below normally yields KEY_RESIZE.
        let signalled = TerminalGuard.consumeResizeSignal()
        drainKeys(into: &events, resized: &resized)
        if signalled && !resized {
            // ncurses did not report it (its handler was not installed because the process had
            // its own, or the size is unchanged after a quick back-and-forth): ask the kernel.
            resized = checkSizeByIoctl()
        }
        if resized {
            // The emulator may have reflowed or cleared the screen whatever the new size, so
            // repaint everything on the next frame.
            invalidate()
            events.append(.resize(width: width, height: height))
        }
        return events
    }

    /// Forgets what is on screen: the next `present` clears the terminal and redraws every cell
    /// (for Ctrl-L, or after something else wrote to the terminal).
    public func invalidate() {
        guard isActive else { return }
        previous = nil
        needsFullRedraw = true
        _ = clearok(saescope_curscr(), true)
    }

    private func waitForInput(timeoutMilliseconds: Int) {
        var fds = [
            pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakePipe.readFD, events: Int16(POLLIN), revents: 0),
        ]
        let timeout = Int32(clamping: timeoutMilliseconds < 0 ? -1 : timeoutMilliseconds)
        // EINTR (a signal, e.g. SIGWINCH) simply ends the wait: the caller looks at what it was.
        let n = poll(&fds, 2, timeout)
        if n > 0 && fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
            && fds[0].revents & Int16(POLLIN) == 0 {
            // The terminal is gone (ssh dropped, tmux pane killed): reading would spin on EOF.
            inputLost = true
        }
    }

    private func drainKeys(into events: inout [Key], resized: inout Bool) {
        guard !inputLost else { return }
        let win = saescope_stdscr()
        var ch: wint_t = 0
        var count = 0
        while count < TerminalScreen.maxEventsPerCall {
            let r = wget_wch(win, &ch)
            if r == ERR { return }
            count += 1
            let code = Int32(bitPattern: UInt32(ch))
            switch KeyDecoder.decode(code, isKeyCode: r == KEY_CODE_YES) {
            case .key(let k)?:
                events.append(k)
            case .mouse?:
                readMouseEvents(into: &events)
            case .resize?:
                // ncurses has already resized stdscr (resizeterm) before returning KEY_RESIZE.
                width = Int(saescope_screen_width())
                height = Int(saescope_screen_height())
                resized = true
            case nil:
                continue
            }
        }
        inputPending = true
    }

    /// One KEY_MOUSE can stand for several events: ncurses gathers the reports that arrived
    /// together into one queue and hands out the newest first, dropping the older ones unless
    /// getmouse is called until it fails. Collected newest first, appended oldest first.
    private func readMouseEvents(into events: inout [Key]) {
        var batch: [MouseEvent] = []
        var ev = MEVENT()
        while batch.count < 64, getmouse(&ev) == OK {
            if let m = KeyDecoder.decodeMouse(bstate: ev.bstate, x: ev.x, y: ev.y) { batch.append(m) }
        }
        events += batch.reversed().map { Key.mouse($0) }
    }

    /// The kernel's idea of the size; resizes ncurses' screens when it differs. True when a
    /// resize should be reported.
    private func checkSizeByIoctl() -> Bool {
        var ws = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_row > 0, ws.ws_col > 0 else { return false }
        let rows = Int32(ws.ws_row), cols = Int32(ws.ws_col)
        if is_term_resized(rows, cols) {
            // resize_term, not resizeterm: the latter would also queue a KEY_RESIZE we would
            // then report a second time.
            _ = resize_term(rows, cols)
        }
        width = Int(saescope_screen_width())
        height = Int(saescope_screen_height())
        return true
    }
}
