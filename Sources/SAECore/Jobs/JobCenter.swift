import Foundation

/// Runs heavy analysis work (index passes, exports, PCA, matching) off the caller's thread.
///
/// The UI thread never waits on a job: workers post progress and results into a locked mailbox
/// and call `wake` (which, in the terminal app, writes a byte to the loop's wake pipe); the UI
/// thread takes them with `drain()` when it next wakes. Starting a job of a kind that is already
/// running cancels the older one: a superseded computation is never shown.
public final class JobCenter: @unchecked Sendable {
    public typealias ID = Int

    public enum State: Sendable, Equatable {
        case running
        case finished
        case failed(String)
        case cancelled
    }

    /// What the UI knows of a job: its latest progress and state.
    public struct Status: Sendable, Equatable {
        public var id: ID
        public var kind: String
        public var title: String
        public var fraction: Double?
        public var detail: String
        public var state: State
        public var started: Date
        public var ended: Date?
    }

    /// A job's report: progress, an intermediate result, or its end (with the result on success).
    public enum Event: @unchecked Sendable {
        case progress(ID)
        case partial(ID, Any)
        case finished(ID, Any)
        case failed(ID, String)
        case cancelled(ID)

        public var id: ID {
            switch self {
            case .progress(let id), .partial(let id, _), .finished(let id, _), .failed(let id, _), .cancelled(let id): return id
            }
        }
    }

    /// Handed to the work closure: report progress, publish partial results, check for cancel.
    public final class Context: @unchecked Sendable {
        fileprivate let id: ID
        fileprivate unowned let center: JobCenter
        fileprivate init(id: ID, center: JobCenter) { self.id = id; self.center = center }

        public var isCancelled: Bool { center.isCancelled(id) }

        /// Progress as a fraction in [0, 1] (nil: unknown) and a short text ("12,288 / 122,880 tokens").
        public func progress(_ fraction: Double?, _ detail: String) { center.report(id, fraction: fraction, detail: detail) }

        /// A result the UI may show before the job ends (marked partial there).
        public func partial(_ value: Any) { center.post(.partial(id, value)) }
    }

    private let lock = NSLock()
    private var statuses: [Status] = []
    private var cancelled: Set<ID> = []
    private var mailbox: [Event] = []
    private var nextID = 1
    private let wake: @Sendable () -> Void
    /// Finished jobs kept for the jobs screen.
    private let historyLimit = 50

    public init(wake: @escaping @Sendable () -> Void = {}) {
        self.wake = wake
    }

    /// Starts `work` on its own thread and returns the job's id. A running job of the same kind is
    /// cancelled first. `work` returns the result, or throws (a `SaescopeError("cancelled")` after
    /// a cancel counts as cancelled, not failed).
    @discardableResult
    public func start(kind: String, title: String, work: @escaping @Sendable (Context) throws -> Any) -> ID {
        let id: ID = lock.withLock {
            for status in statuses where status.kind == kind && status.state == .running { cancelled.insert(status.id) }
            let id = nextID
            nextID += 1
            statuses.append(Status(id: id, kind: kind, title: title, fraction: 0, detail: "starting", state: .running,
                                   started: Date(), ended: nil))
            if statuses.count > historyLimit, let old = statuses.firstIndex(where: { $0.state != .running }) {
                statuses.remove(at: old)
            }
            return id
        }
        let context = Context(id: id, center: self)
        let thread = Thread { [self] in
            do {
                let value = try work(context)
                if isCancelled(id) { finish(id, .cancelled, event: .cancelled(id)) } else { finish(id, .finished, event: .finished(id, value)) }
            } catch {
                if isCancelled(id) {
                    finish(id, .cancelled, event: .cancelled(id))
                } else {
                    let message = (error as? SaescopeError)?.description ?? String(describing: error)
                    finish(id, .failed(message), event: .failed(id, message))
                }
            }
        }
        thread.name = "saescope job \(id): \(kind)"
        thread.stackSize = 8 << 20
        thread.start()
        return id
    }

    /// Asks a job to stop; it ends at its next cancellation check.
    public func cancel(_ id: ID) {
        lock.withLock {
            if statuses.contains(where: { $0.id == id && $0.state == .running }) { cancelled.insert(id) }
        }
        wake()
    }

    public func cancelAll() {
        lock.withLock { for status in statuses where status.state == .running { cancelled.insert(status.id) } }
    }

    /// Cancels every running job and waits, at most `timeout` seconds, until each has returned
    /// from its work (jobs check for cancel between chunks, so none is left inside BLAS or half
    /// way through writing a file). Returns whether all ended in time. For process exit: a
    /// worker still inside OpenBLAS when the process tears down its libraries crashes it.
    @discardableResult
    public func cancelAllAndWait(timeout: TimeInterval) -> Bool {
        cancelAll()
        return waitUntilIdle(timeout: timeout)
    }

    public func isCancelled(_ id: ID) -> Bool { lock.withLock { cancelled.contains(id) } }

    /// Every job's status, oldest first.
    public var snapshot: [Status] { lock.withLock { statuses } }

    public var hasRunningJobs: Bool { lock.withLock { statuses.contains { $0.state == .running } } }

    /// Takes every event posted since the last call (in order).
    public func drain() -> [Event] {
        lock.withLock {
            let events = mailbox
            mailbox.removeAll(keepingCapacity: true)
            return events
        }
    }

    /// Blocks until no job runs (for headless use and tests; never called on the UI thread).
    public func waitUntilIdle(timeout: TimeInterval = 600) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while hasRunningJobs {
            if Date() > deadline { return false }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return true
    }

    private func report(_ id: ID, fraction: Double?, detail: String) {
        lock.withLock {
            guard let i = statuses.firstIndex(where: { $0.id == id }) else { return }
            statuses[i].fraction = fraction
            statuses[i].detail = detail
            // One pending progress event per job is enough: the status holds the latest figures.
            if !mailbox.contains(where: { if case .progress(id) = $0 { return true } else { return false } }) {
                mailbox.append(.progress(id))
            }
        }
        wake()
    }

    private func post(_ event: Event) {
        lock.withLock { mailbox.append(event) }
        wake()
    }

    private func finish(_ id: ID, _ state: State, event: Event) {
        lock.withLock {
            if let i = statuses.firstIndex(where: { $0.id == id }) {
                statuses[i].state = state
                statuses[i].ended = Date()
                if state == .finished { statuses[i].fraction = 1 }
            }
            cancelled.remove(id)
            mailbox.append(event)
        }
        wake()
    }
}
