import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Changes OpenBLAS's kernel family inside the running process.
///
/// A `DYNAMIC_ARCH` OpenBLAS keeps its family in one table pointer, set when it is loaded by
/// `gotoblas_dynamic_init`, which reads `OPENBLAS_CORETYPE` (or detects the CPU) and sets up the
/// family's blocking parameters; `gotoblas_dynamic_quit` clears the pointer. Both are exported
/// (not in cblas.h), so they are looked up: a library without them gets the restart instead
/// (`KernelStartup`). Calling them again with the variable set runs exactly what a process started
/// with it would (the same table, the same parameters: `KernelSwitchTests` compares the products
/// with a child started that way, bit for bit), without the ~15 ms of a second process start.
/// Only safe while no BLAS call is running: start-up, before any thread of saescope's own.
public enum KernelSwitch {
    private typealias Entry = @convention(c) () -> Void

    private static let entries: (quit: Entry, initialize: Entry)? = {
        let process = dlopen(nil, RTLD_NOW)
        guard let quit = dlsym(process, "gotoblas_dynamic_quit"), let initialize = dlsym(process, "gotoblas_dynamic_init") else { return nil }
        return (unsafeBitCast(quit, to: Entry.self), unsafeBitCast(initialize, to: Entry.self))
    }()

    /// For tests only: "1" makes the switch unavailable, so start-up takes the restart a library
    /// without the entry points gets.
    public static let disableVariable = "SAESCOPE_TEST_NO_KERNEL_SWITCH"

    /// Whether the library can change family in the process.
    public static var isAvailable: Bool { entries != nil && getenv(disableVariable).map { String(cString: $0) } != "1" }

    /// Asks the library for `family`; returns whether it now runs it (a library may not know the
    /// name, and then falls back to its own detection). `OPENBLAS_CORETYPE` is set only for the
    /// call and then put back as it was, so children make their own choice.
    @discardableResult
    public static func select(_ family: KernelFamily) -> Bool {
        guard let entries else { return false }
        let variable = KernelStartup.coreTypeVariable
        let previous = getenv(variable).map { String(cString: $0) }
        setenv(variable, family.name, 1)
        entries.quit()
        entries.initialize()
        if let previous { setenv(variable, previous, 1) } else { unsetenv(variable) }
        return KernelFamily.named(BLASLibrary.current(locatingFile: false).core) == family
    }
}
