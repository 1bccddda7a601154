import SAECore
import TUI

/// A merge of the shards indexed so far, posted by the index job.
struct PartialIndex: @unchecked Sendable {
    var index: FeatureIndex
    var done: Int
    var of: Int
}

/// The index job's result: the index, and why saving it failed (it is shown anyway).
struct BuiltIndex: @unchecked Sendable {
    var index: FeatureIndex
    /// Where it was saved (or was to be).
    var path: String
    var writeError: String?
}

/// Moves a non-Sendable value (read-only from then on) into a job.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
