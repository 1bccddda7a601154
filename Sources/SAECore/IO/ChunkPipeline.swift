import Dispatch
import Foundation

/// Runs the chunks of a streaming pass through three stages so that the cores never wait on
/// one thread's bookkeeping: while the caller encodes chunk i (a step that uses every core),
/// one helper thread records chunk i - 1 (statistics, index tables) and then reads chunk i + 1
/// (copy out of the cache, finite checks, sequence bounds). Alone, those two stages ran on one
/// core between the encoder's matmuls and left the other core idle: on 2 cores every serial
/// second cost two.
///
/// Chunks are recorded one at a time and in order, so results do not depend on the overlap.
/// Stages of different chunks touch different buffers: a caller keeps two chunk slots and two
/// encoders, chunk i's being i % 2 (the helper reads chunk i + 1 into chunk i - 1's slot once it
/// has recorded chunk i - 1).
enum ChunkPipeline {
    /// `read(i)`, `encode(i)` and `record(i)` for chunk i in 0..<count; `recorded(i)` on the
    /// caller's thread after chunk i is recorded (progress). First `read(0)` runs on the helper
    /// while `setUp` runs on the caller (what the first encode needs, such as the encoder's weight
    /// conversion); then `prepare` runs on the helper beside `encode(0)`, before `record(0)` and
    /// `read(1)` (one-time set-up the first encode does not need: the second encoder, the tables
    /// recorded into). Before, `prepare` ran ahead of `read(0)` and the first encode waited for
    /// both (at F = 3072 the tables' first touch and the first read were a tenth of `index`).
    /// `isCancelled` is asked before each encode; the helper has always finished when this
    /// returns or throws. Nothing runs for no chunks.
    static func run(chunks count: Int, prepare: @escaping () -> Void = {}, setUp: () -> Void = {},
                    read: @escaping (Int) -> Void, encode: (Int) -> Void,
                    record: @escaping (Int) -> Void, recorded: (Int) -> Void = { _ in },
                    isCancelled: () -> Bool = { false }) throws {
        guard count > 0 else { return }
        // The same on one core (the helper and the caller take turns): one path, tested.
        let helper = HelperThread()
        helper.start { read(0) }
        setUp()
        helper.wait()
        for i in 0..<count {
            if isCancelled() { throw SaescopeError("cancelled") }
            helper.start {
                if i == 0 { prepare() } else { record(i - 1) }
                if i + 1 < count { read(i + 1) }
            }
            encode(i)
            helper.wait()
            if i > 0 { recorded(i - 1) }
        }
        record(count - 1)
        recorded(count - 1)
    }
}

/// One thread that runs one piece of work at a time beside the caller.
final class HelperThread: @unchecked Sendable {
    // A serial queue of its own: its thread is not taken from the pool that `parallelFor` uses.
    private let queue = DispatchQueue(label: "saescope.chunk-pipeline")
    private let group = DispatchGroup()

    /// Starts `work` on the helper; the previous piece must have been waited for.
    func start(_ work: @escaping () -> Void) {
        let box = UncheckedSendable(work)
        queue.async(group: group) { box.value() }
    }

    /// Blocks until the started work is done.
    func wait() { group.wait() }
}

extension Array where Element == Float {
    /// `count` floats whose storage is allocated but not written (for buffers that are always
    /// written before they are read: their pages are then first touched by whoever writes them).
    static func uninitialized(_ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
}
