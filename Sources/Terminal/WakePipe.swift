import Glibc

/// The self-pipe that wakes the UI loop out of `poll()`: background jobs (and signal handlers)
/// write one byte; the loop drains it. Both ends are non-blocking so a full pipe never stalls a
/// writer (a full pipe already means "awake") and draining never blocks the loop.
public final class WakePipe: Sendable {
    /// Read end, polled by the UI loop.
    public let readFD: Int32
    /// Write end, written by `wake()`.
    public let writeFD: Int32

    public init() throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw TerminalError.pipeFailed(errno: errno) }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)  // not inherited by subprocesses (editors, pagers)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    /// Makes the loop's next (or current) wait return. Thread-safe and async-signal-safe: a
    /// single `write(2)`; EAGAIN (pipe full) is fine because the loop is already due to wake.
    public func wake() {
        WakePipe.wake(fd: writeFD)
    }

    /// The signal-handler form: no object, just the descriptor.
    static func wake(fd: Int32) {
        guard fd >= 0 else { return }
        var byte: UInt8 = 1
        _ = write(fd, &byte, 1)
    }

    /// Empties the pipe; returns whether anything was in it.
    @discardableResult
    public func drain() -> Bool {
        var buf = [UInt8](repeating: 0, count: 64)
        var any = false
        while true {
            let n = buf.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if n > 0 {
                any = true
                continue
            }
            if n < 0 && errno == EINTR { continue }
            return any
        }
    }

    deinit {
        close(readFD)
        close(writeFD)
    }
}
