import Glibc
import Synchronization

// While the interface is up, anything written to stderr (a library's warning, Swift's
// "Fatal error: ..." line, which is printed *before* the trap) would land on the alternate
// screen: it garbles the frame and vanishes when the screen is left. So while a screen is open
// and stderr is that terminal, fd 2 points at an unlinked temporary file, and whatever was
// written is copied to the real stderr after the terminal is restored, on every way out
// (restore, exit, crash handler). The replay uses only read/write/lseek/dup2, which are
// async-signal-safe, and a buffer allocated up front.

/// The temporary file fd 2 points at, or -1 when not capturing.
private let captureFD = Atomic<Int32>(-1)
/// A duplicate of the original stderr, or -1.
private let originalStderrFD = Atomic<Int32>(-1)
private let replayBufferSize = 4096
nonisolated(unsafe) private let replayBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: replayBufferSize)

enum StderrCapture {
    /// Starts capturing when stderr is a terminal (a redirected stderr is left alone: nothing
    /// would garble the screen and the file should get the output as it happens).
    static func start() {
        _ = replayBuffer  // allocate now, not inside a signal handler
        guard isatty(STDERR_FILENO) != 0, captureFD.load(ordering: .acquiring) < 0 else { return }
        let dir = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(dir)/saescope-stderr-XXXXXX".utf8CString)
        let tmp = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard tmp >= 0 else { return }  // no temporary file: stderr stays as it was
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        _ = fcntl(tmp, F_SETFD, FD_CLOEXEC)
        let saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)
        guard saved >= 0, dup2(tmp, STDERR_FILENO) >= 0 else {
            close(tmp)
            if saved >= 0 { close(saved) }
            return
        }
        originalStderrFD.store(saved, ordering: .releasing)
        captureFD.store(tmp, ordering: .releasing)
    }

    /// Points fd 2 back at the terminal and copies out what was captured. Async-signal-safe;
    /// does something at most once per `start`.
    static func stopAndReplay() {
        let tmp = captureFD.exchange(-1, ordering: .acquiringAndReleasing)
        guard tmp >= 0 else { return }
        let saved = originalStderrFD.exchange(-1, ordering: .acquiringAndReleasing)
        guard saved >= 0 else { return }
        _ = dup2(saved, STDERR_FILENO)
        _ = lseek(tmp, 0, SEEK_SET)
        while true {
            let n = read(tmp, replayBuffer, replayBufferSize)
            if n <= 0 { break }
            var off = 0
            while off < n {
                let w = write(STDERR_FILENO, replayBuffer + off, n - off)
                if w <= 0 { break }
                off += w
            }
        }
        close(tmp)
        close(saved)
    }
}
