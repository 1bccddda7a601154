/// The nonzero codes of a batch of consecutive rows (several encoder chunks), regrouped by
/// feature (rows ascending within a feature), plus what recording needs to know about each row.
///
/// Grouping by feature is what makes recording cheap: each feature's tables are visited once
/// per batch, in increasing feature order, instead of at random for every activation; threads
/// can take disjoint feature ranges; and an exemplar's context (the feature's activations on
/// nearby rows) is the neighbouring entries of the same list, instead of scattered reads of the
/// dense `[rows, F]` codes. Batches span several chunks because the lists are small (a few
/// bytes per nonzero) while a feature's tables are visited once per batch. Buffers are reused.
final class ActivationBatch: @unchecked Sendable {
    // @unchecked: filled by one thread, only read while features are recorded.
    let featureCount: Int
    let context: Int

    // The batch's rows are global rows firstRow ..< firstRow + rowCount ("local" row = row - firstRow).
    private(set) var firstRow = 0
    var rowCount: Int { rowEnd.count }
    var entryCount: Int { stagedFeatures.count }

    // Row by row as the chunks arrive: row r's codes end at rowEnd[r].
    private var rowEnd: [Int] = []
    private var stagedFeatures: [Int32] = []
    private var stagedValues: [Float] = []

    /// Per local row: recorded (a core row, finite); finite (non-finite rows give NaN context);
    /// and for core rows the context window `[windowStart, windowEnd)` in local rows (its sequence, ±c).
    private(set) var recorded = GrowingBuffer<Bool>()
    private(set) var finite = GrowingBuffer<Bool>()
    private(set) var windowStart = GrowingBuffer<Int32>()
    private(set) var windowEnd = GrowingBuffer<Int32>()

    /// After `regroup`: feature j's entries are `rows/values[featureStart[j] ..< featureStart[j + 1]]`.
    let featureStart: UnsafeMutablePointer<Int32>
    private(set) var rows = GrowingBuffer<Int32>()
    private(set) var values = GrowingBuffer<Float>()
    private let cursor: UnsafeMutablePointer<Int32>

    init(featureCount: Int, context: Int) {
        self.featureCount = featureCount
        self.context = context
        featureStart = .allocate(capacity: featureCount + 1)
        featureStart.initialize(repeating: 0, count: featureCount + 1)
        cursor = .allocate(capacity: featureCount)
    }

    deinit {
        featureStart.deallocate()
        cursor.deallocate()
        recorded.deallocate()
        finite.deallocate()
        windowStart.deallocate()
        windowEnd.deallocate()
        rows.deallocate()
        values.deallocate()
    }

    /// Adds an encoded chunk: `codes` of global rows `encoded` (`isFinite[i]` for row
    /// encoded.lowerBound + i), whose `core` rows are recorded and the rest are context;
    /// `sequence(row)` is the global rows of a core row's sequence. Chunks arrive in order, each
    /// core starting where the last ended; rows encoded twice keep the values of the chunk they
    /// are core rows of.
    func append(_ codes: SparseCodeRows, encoded: Range<Int>, finite isFinite: [Bool], core: Range<Int>, sequence: (Int) -> Range<Int>) {
        if rowCount == 0 {
            firstRow = encoded.lowerBound
        } else {
            // The last chunk's trailing margin is this chunk's core (or leading margin): drop it.
            precondition(core.lowerBound >= firstRow && core.lowerBound <= firstRow + rowCount, "chunks must be consecutive")
            truncate(toRows: core.lowerBound - firstRow)
        }
        let from = max(encoded.lowerBound, firstRow + rowCount)
        guard from < encoded.upperBound else { return }
        // The rows' codes are contiguous in the chunk's lists: copied in one go.
        let firstEntry = codes.rowStart[from - encoded.lowerBound], endEntry = codes.rowStart[encoded.upperBound - encoded.lowerBound]
        let shift = stagedFeatures.count - firstEntry
        stagedFeatures.append(contentsOf: UnsafeBufferPointer(start: codes.features + firstEntry, count: endEntry - firstEntry))
        stagedValues.append(contentsOf: UnsafeBufferPointer(start: codes.values + firstEntry, count: endEntry - firstEntry))
        let endLocal = encoded.upperBound - firstRow
        recorded.reserve(endLocal)
        finite.reserve(endLocal)
        windowStart.reserve(endLocal)
        windowEnd.reserve(endLocal)
        let c = context
        for row in from..<encoded.upperBound {
            let r = row - encoded.lowerBound, local = row - firstRow
            rowEnd.append(codes.rowStart[r + 1] + shift)
            finite[local] = isFinite[r]
            recorded[local] = core.contains(row) && isFinite[r]
            if core.contains(row) {
                let bounds = sequence(row)
                windowStart[local] = Int32(max(bounds.lowerBound, row - c) - firstRow)
                windowEnd[local] = Int32(min(bounds.upperBound, row + c + 1) - firstRow)
            }
        }
    }

    private func truncate(toRows count: Int) {
        guard count < rowCount else { return }
        let entries = count == 0 ? 0 : rowEnd[count - 1]
        rowEnd.removeSubrange(count...)
        stagedFeatures.removeSubrange(entries...)
        stagedValues.removeSubrange(entries...)
    }

    /// Empties the batch (buffers are kept).
    func clear() {
        rowEnd.removeAll(keepingCapacity: true)
        stagedFeatures.removeAll(keepingCapacity: true)
        stagedValues.removeAll(keepingCapacity: true)
    }

    /// Regroups the batch's codes by feature (a stable counting sort: rows stay ascending).
    func regroup() {
        let total = entryCount, f = featureCount
        precondition(total < Int(Int32.max) && rowCount < Int(Int32.max), "batch too large")
        rows.reserve(total)
        values.reserve(total)
        featureStart.update(repeating: 0, count: f + 1)
        for feature in stagedFeatures { featureStart[Int(feature) + 1] += 1 }
        for j in 0..<f { featureStart[j + 1] += featureStart[j] }
        cursor.update(from: featureStart, count: f)
        var begin = 0
        for r in 0..<rowCount {
            for e in begin..<rowEnd[r] {
                let j = Int(stagedFeatures[e])
                let at = Int(cursor[j])
                cursor[j] += 1
                rows[at] = Int32(truncatingIfNeeded: r)
                values[at] = stagedValues[e]
            }
            begin = rowEnd[r]
        }
    }

    /// Writes the feature's activations on rows r-c ... r+c into `slot`, for entry `e` of its
    /// list `listStart..<listEnd` (row r): NaN outside the row's window or on non-finite rows,
    /// 0 where it did not fire.
    @inline(__always)
    func fillContext(_ slot: UnsafeMutablePointer<Float>, entry e: Int, listStart: Int, listEnd: Int) {
        let c = context, r = Int(rows[e])
        let windowStart = Int(self.windowStart[r]), windowEnd = Int(self.windowEnd[r])
        for p in 0...(2 * c) {
            let neighbour = r - c + p
            slot[p] = (neighbour >= windowStart && neighbour < windowEnd && finite[neighbour]) ? 0 : .nan
        }
        var q = e - 1
        while q >= listStart, Int(rows[q]) >= r - c {
            let neighbour = Int(rows[q])
            if neighbour >= windowStart && finite[neighbour] { slot[neighbour - r + c] = values[q] }
            q -= 1
        }
        slot[c] = values[e]
        q = e + 1
        while q < listEnd, Int(rows[q]) <= r + c {
            let neighbour = Int(rows[q])
            if neighbour < windowEnd && finite[neighbour] { slot[neighbour - r + c] = values[q] }
            q += 1
        }
    }
}

/// A manually managed buffer that only grows (keeping its contents): plain pointer reads and
/// writes in the hot loops, shared read-only across threads.
struct GrowingBuffer<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var capacity = 0

    init() { base = .allocate(capacity: 1) }

    /// Room for at least `count` elements.
    mutating func reserve(_ count: Int) {
        guard count > capacity else { return }
        let grown = max(count, 2 * capacity, 1024)
        let larger = UnsafeMutablePointer<Element>.allocate(capacity: grown)
        larger.update(from: base, count: capacity)
        base.deallocate()
        base = larger
        capacity = grown
    }

    func deallocate() { base.deallocate() }

    @inline(__always)
    subscript(index: Int) -> Element {
        get { base[index] }
        nonmutating set { base[index] = newValue }
    }
}
