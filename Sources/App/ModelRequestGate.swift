import Foundation

/// One model process answers one request at a time. CE jobs hold it for minutes on a CPU, so a
/// short request (a typed text, the unembedding) must not wait for a whole CE run: CE takes the
/// process at normal priority and offers it back between its batches (`yieldToWaiting`), where
/// the process keeps no state for it; short requests take it at high priority and go first.
final class ModelRequestGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var busy = false
    private var waitingUrgent = 0

    /// Runs `body` with the process to itself; `urgent` requests overtake waiting normal ones.
    func run<T>(urgent: Bool, _ body: () throws -> T) rethrows -> T {
        condition.lock()
        if urgent { waitingUrgent += 1 }
        while busy || (!urgent && waitingUrgent > 0) { condition.wait() }
        if urgent { waitingUrgent -= 1 }
        busy = true
        condition.unlock()
        defer {
            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }

    /// Called by a normal holder at a point where another request may run: lets every waiting
    /// urgent request through, then takes the process back.
    func yieldToWaiting() {
        condition.lock()
        defer { condition.unlock() }
        guard waitingUrgent > 0 else { return }
        busy = false
        condition.broadcast()
        while busy || waitingUrgent > 0 { condition.wait() }
        busy = true
    }
}
