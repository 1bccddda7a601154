import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS's idle worker threads.
///
/// OpenBLAS (pthread build) starts its worker threads when it is loaded, and an idle worker
/// busy-waits with `sched_yield` for about 2^28 clock ticks before it sleeps. At start-up that is
/// ~0.1 s of CPU in every saescope process (measured: 0.106 CPU-s in a program that only sleeps
/// for a second, 0.003 after the stop below), and in `index` and `eval`, whose screened encode
/// calls no BLAS at all, that thread took ~10% of the samples from the two compute threads
/// (D=384/F=3072: 426 of 4,391). The library stops its pool before a fork and starts it again
/// by itself on the next call that wants threads (`exec_blas` and `openblas_set_num_threads`
/// check for that), so stopping it here costs a threaded call only the restart.
public enum BLASThreadPool {
    /// Stops the idle workers when the library is OpenBLAS; nothing otherwise. Call before the
    /// process starts threads of its own.
    public static func stopIdleWorkers() {
        // Not in cblas.h: looked up, so another BLAS without it still links and runs.
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "blas_thread_shutdown_") else { return }
        let shutdown = unsafeBitCast(symbol, to: (@convention(c) () -> Int32).self)
        _ = shutdown()
    }
}
