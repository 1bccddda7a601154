import Dispatch
import Foundation

/// Runs `body(i)` for i in 0..<iterations across the cores and waits for all of them.
/// Callers guarantee the iterations touch disjoint memory (that is why this is unchecked).
func parallelFor(_ iterations: Int, _ body: (Int) -> Void) {
    guard iterations > 1 else {
        if iterations == 1 { body(0) }
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendable(escapable)
        DispatchQueue.concurrentPerform(iterations: iterations) { box.value($0) }
    }
}

/// Hands a value to concurrent code whose safety the caller has arranged.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

extension ProcessInfo {
    /// Cores available to this process.
    static var activeCores: Int { ProcessInfo.processInfo.activeProcessorCount }
}
