/// One encoded chunk's nonzero codes regrouped by feature (rows ascending within a feature),
/// plus what recording needs to know about each row of the chunk.
///
/// Grouping by feature is what makes recording cheap: each feature's tables are visited once
/// per chunk, in increasing feature order, instead of at random for every activation; threads
/// can take disjoint feature ranges; and an exemplar's context (the feature's activations on
/// nearby rows) is the neighbouring entries of the same list, instead of scattered reads of
/// the dense `[rows, F]` codes. Buffers are reused from chunk to chunk.
final class ChunkActivations: @unchecked Sendable {
    // @unchecked: written by one thread between chunks, only read while features are recorded.
    let featureCount: Int
    let context: Int
    let maxRows: Int

    /// Feature j's entries are `rows/values[featureStart[j] ..< featureStart[j + 1]]`.
    let featureStart: UnsafeMutablePointer<Int32>
    /// Local rows (0 = the chunk's first encoded row) and code values, every nonzero included.
    private(set) var rows: UnsafeMutablePointer<Int32>
    private(set) var values: UnsafeMutablePointer<Float>
    private var capacity = 0
    private let cursor: UnsafeMutablePointer<Int32>

    /// Global row of local row 0.
    private(set) var firstRow = 0
    /// Per local row: whether its activations are recorded (a core row of the chunk, and finite).
    let recorded: UnsafeMutablePointer<Bool>
    /// Per local row: whether it is finite (non-finite rows give NaN context).
    let finite: UnsafeMutablePointer<Bool>
    /// Per local core row: its context window `[windowStart, windowEnd)` in local rows (within its sequence).
    let windowStart: UnsafeMutablePointer<Int32>
    let windowEnd: UnsafeMutablePointer<Int32>

    init(featureCount: Int, context: Int, maxRows: Int) {
        self.featureCount = featureCount
        self.context = context
        self.maxRows = maxRows
        featureStart = .allocate(capacity: featureCount + 1)
        featureStart.initialize(repeating: 0, count: featureCount + 1)
        cursor = .allocate(capacity: featureCount)
        rows = .allocate(capacity: 1)
        values = .allocate(capacity: 1)
        recorded = .allocate(capacity: maxRows)
        finite = .allocate(capacity: maxRows)
        windowStart = .allocate(capacity: maxRows)
        windowEnd = .allocate(capacity: maxRows)
    }

    deinit {
        for pointer in [UnsafeMutableRawPointer(featureStart), UnsafeMutableRawPointer(cursor), UnsafeMutableRawPointer(rows),
                        UnsafeMutableRawPointer(values), UnsafeMutableRawPointer(recorded), UnsafeMutableRawPointer(finite),
                        UnsafeMutableRawPointer(windowStart), UnsafeMutableRawPointer(windowEnd)] {
            pointer.deallocate()
        }
    }

    /// Describes the chunk's `count` rows, local row 0 being global `firstRow`: local rows `core`
    /// are recorded where finite, and `sequence(row)` gives the global rows of a core row's sequence.
    func setRows(firstRow: Int, count: Int, finite isFinite: [Bool], core: Range<Int>, sequence: (Int) -> Range<Int>) {
        precondition(count <= maxRows && isFinite.count >= count)
        self.firstRow = firstRow
        let c = context
        for local in 0..<count {
            finite[local] = isFinite[local]
            recorded[local] = core.contains(local) && isFinite[local]
            guard core.contains(local) else { continue }
            let row = firstRow + local, bounds = sequence(row)
            windowStart[local] = Int32(max(bounds.lowerBound, row - c) - firstRow)
            windowEnd[local] = Int32(min(bounds.upperBound, row + c + 1) - firstRow)
        }
    }

    /// Regroups the CSR codes of local rows `0..<rowCount` by feature (a stable counting sort).
    func load(_ codes: SparseCodeRows, rowCount: Int) {
        let first = codes.rowStart[0], total = codes.rowStart[rowCount] - first
        precondition(total < Int(Int32.max), "chunk has too many nonzero codes")
        if capacity < total {  // grown, never shrunk: chunks are alike
            capacity = total + total / 4
            rows.deallocate()
            values.deallocate()
            rows = .allocate(capacity: capacity)
            values = .allocate(capacity: capacity)
        }
        let f = featureCount
        featureStart.update(repeating: 0, count: f + 1)
        for e in first..<first + total { featureStart[Int(codes.features[e]) + 1] += 1 }
        for j in 0..<f { featureStart[j + 1] += featureStart[j] }
        cursor.update(from: featureStart, count: f)
        for r in 0..<rowCount {
            for e in codes.rowStart[r]..<codes.rowStart[r + 1] {
                let j = Int(codes.features[e])
                let at = Int(cursor[j])
                cursor[j] += 1
                rows[at] = Int32(truncatingIfNeeded: r)
                values[at] = codes.values[e]
            }
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
