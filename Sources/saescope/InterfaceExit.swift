import Foundation
import SAECore
import Terminal

/// How the interface process ends, on every way out of the loop (q, Ctrl-C, SIGINT, SIGTERM,
/// SIGHUP, a lost terminal).
///
/// Background jobs run on threads of their own, often inside OpenBLAS's sgemm. A plain `exit()`
/// runs atexit handlers and library destructors, among them OpenBLAS's own shutdown, which frees
/// the buffers a worker is still using: a segfault in about one quit in three during a first
/// index. So: the terminal is given back first (quitting feels immediate), every job is
/// cancelled and waited for (a bounded wait: they check for cancel between chunks, so they
/// leave BLAS and finish any file they are writing), and the process ends with `_exit`, which
/// runs no teardown at all, so a job that did not stop in time cannot race one.
enum InterfaceExit {
    /// How long jobs get to stop. A chunk of the index pass takes tens of milliseconds.
    static let jobStopTimeout: TimeInterval = 3

    static func end(screen: TerminalScreen, jobs: JobCenter, status: Int32) -> Never {
        screen.restore()
        jobs.cancelAllAndWait(timeout: jobStopTimeout)
        // _exit skips stdio's flush too.
        fflush(nil)
        _exit(status)
    }
}
