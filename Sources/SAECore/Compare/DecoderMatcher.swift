import CBLAS
import Foundation

/// For every feature of one dictionary, its best matches in another by decoder cosine.
/// Feature-major: entries `[j * depth ..< (j + 1) * depth]` are feature j's matches, best first
/// (cosine descending, ties to the lower index).
public struct FeatureMatches: Sendable, Equatable {
    /// Features this list is for (the source side).
    public let featureCount: Int
    /// Features of the other side (the indices below run over 0..<targetCount).
    public let targetCount: Int
    /// Matches kept per feature (at most `targetCount`).
    public let depth: Int
    public let indices: [Int32]
    public let cosines: [Float]

    public init(featureCount: Int, targetCount: Int, depth: Int, indices: [Int32], cosines: [Float]) {
        self.featureCount = featureCount
        self.targetCount = targetCount
        self.depth = depth
        self.indices = indices
        self.cosines = cosines
    }

    /// Feature j's best `limit` matches (all kept ones without a limit), best first.
    public func matches(_ j: Int, limit: Int? = nil) -> [(feature: Int, cosine: Float)] {
        let count = min(depth, limit ?? depth)
        return (0..<count).map { (Int(indices[j * depth + $0]), cosines[j * depth + $0]) }
    }

    public func bestFeature(_ j: Int) -> Int { Int(indices[j * depth]) }
    public func bestCosine(_ j: Int) -> Float { cosines[j * depth] }
    public var bestCosines: [Float] { (0..<featureCount).map(bestCosine) }

    /// The same lists cut to their first `limit` entries.
    public func truncated(to limit: Int) -> FeatureMatches {
        let k = min(depth, max(1, limit))
        guard k < depth else { return self }
        var newIndices = [Int32](), newCosines = [Float]()
        newIndices.reserveCapacity(featureCount * k)
        newCosines.reserveCapacity(featureCount * k)
        for j in 0..<featureCount {
            newIndices.append(contentsOf: indices[j * depth..<j * depth + k])
            newCosines.append(contentsOf: cosines[j * depth..<j * depth + k])
        }
        return FeatureMatches(featureCount: featureCount, targetCount: targetCount, depth: k, indices: newIndices, cosines: newCosines)
    }
}

/// Both directions of a decoder matching.
public struct DecoderMatching: Sendable, Equatable {
    public let aToB: FeatureMatches
    public let bToA: FeatureMatches
}

/// Matches decoder rows by cosine similarity with a blocked GEMM.
///
/// Rows are normalised to unit length (a zero or non-finite row becomes the zero row, whose cosine
/// with everything is 0), then `Â B̂ᵀ` is computed one block at a time: `rowBlock` rows of A
/// against `columnBlock` rows of B per `cblas_sgemm`, rows of A in the outer loop and columns of
/// B inside it. After each block every A row's running top list is updated from its block row,
/// and every B row's from its block column, so one product serves both directions. Rows of A and
/// columns of B are visited in increasing order, and an entry only displaces a strictly smaller
/// one, which is what sends ties to the lower index.
///
/// Memory ceiling (besides the two loaded dictionaries): the normalised decoders,
/// 4·D·(F_A + F_B) bytes; one score block, 4·rowBlock·columnBlock bytes (1024 × 4096: 16 MiB by
/// default); and the match lists, 8·depth·(F_A + F_B) bytes. The F_A × F_B matrix never exists.
/// At F_A = F_B = 32768, D = 512, depth 10: 128 + 16 + 5 MiB.
public enum DecoderMatcher {
    public static let defaultRowBlock = 1024
    public static let defaultColumnBlock = 4096

    /// Progress as (rows of A done, rows of A).
    public typealias Progress = (Int, Int) -> Void

    public static func match(_ a: SparseAutoencoder, _ b: SparseAutoencoder, depth: Int,
                             rowBlock: Int = defaultRowBlock, columnBlock: Int = defaultColumnBlock,
                             progress: Progress? = nil, isCancelled: () -> Bool = { false }) throws -> DecoderMatching {
        precondition(a.outputDimension == b.outputDimension, "decoders of different widths")
        let normalizedA = normalizedRows(a.decoderWeights, count: a.featureCount, dimension: a.outputDimension)
        let normalizedB = normalizedRows(b.decoderWeights, count: b.featureCount, dimension: b.outputDimension)
        return try match(normalizedA: normalizedA, countA: a.featureCount, normalizedB: normalizedB, countB: b.featureCount,
                         dimension: a.outputDimension, depth: depth, rowBlock: rowBlock, columnBlock: columnBlock,
                         progress: progress, isCancelled: isCancelled)
    }

    /// Matching of already normalised rows (`[countA, dimension]` and `[countB, dimension]`, row-major).
    public static func match(normalizedA: [Float], countA: Int, normalizedB: [Float], countB: Int, dimension d: Int,
                             depth requestedDepth: Int, rowBlock: Int = defaultRowBlock, columnBlock: Int = defaultColumnBlock,
                             progress: Progress? = nil, isCancelled: () -> Bool = { false }) throws -> DecoderMatching {
        precondition(countA > 0 && countB > 0 && d > 0 && requestedDepth > 0 && rowBlock > 0 && columnBlock > 0)
        precondition(normalizedA.count == countA * d && normalizedB.count == countB * d)
        let depthA = min(requestedDepth, countB), depthB = min(requestedDepth, countA)
        var listA = TopLists(count: countA, depth: depthA)
        var listB = TopLists(count: countB, depth: depthB)
        let rowsPerBlock = min(rowBlock, countA), columnsPerBlock = min(columnBlock, countB)
        var scores = [Float](repeating: 0, count: rowsPerBlock * columnsPerBlock)
        let workers = max(1, ProcessInfo.activeCores)

        try normalizedA.withUnsafeBufferPointer { aRows in
            try normalizedB.withUnsafeBufferPointer { bRows in
                try scores.withUnsafeMutableBufferPointer { scoreBuffer in
                    let s = scoreBuffer.baseAddress!
                    for rowStart in stride(from: 0, to: countA, by: rowsPerBlock) {
                        if isCancelled() { throw SaescopeError("cancelled") }
                        let rows = min(rowsPerBlock, countA - rowStart)
                        for columnStart in stride(from: 0, to: countB, by: columnsPerBlock) {
                            let columns = min(columnsPerBlock, countB - columnStart)
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(columns), Int32(d),
                                        1, aRows.baseAddress! + rowStart * d, Int32(d),
                                        bRows.baseAddress! + columnStart * d, Int32(d), 0, s, Int32(columns))
                            let scoresView = UnsafePointer(s)
                            // Tasks 0..<workers: slices of the block's rows (A lists);
                            // the rest: slices of its columns (B lists). Disjoint lists, read-only scores.
                            listA.withPointers { aIndices, aCosines in
                                listB.withPointers { bIndices, bCosines in
                                    let boxA = UncheckedSendable((aIndices, aCosines)), boxB = UncheckedSendable((bIndices, bCosines))
                                    parallelFor(2 * workers) { task in
                                        if task < workers {
                                            let first = task * rows / workers, last = (task + 1) * rows / workers
                                            for i in first..<last {
                                                updateRow(scores: scoresView + i * columns, count: columns, firstIndex: columnStart,
                                                          indices: boxA.value.0 + (rowStart + i) * depthA,
                                                          cosines: boxA.value.1 + (rowStart + i) * depthA, depth: depthA)
                                            }
                                        } else {
                                            let t = task - workers
                                            let first = t * columns / workers, last = (t + 1) * columns / workers
                                            guard first < last else { return }
                                            updateColumns(scores: scoresView, rows: rows, stride: columns, columns: first..<last,
                                                          rowStart: rowStart, columnStart: columnStart,
                                                          indices: boxB.value.0, cosines: boxB.value.1, depth: depthB)
                                        }
                                    }
                                }
                            }
                        }
                        progress?(rowStart + rows, countA)
                    }
                }
            }
        }
        return DecoderMatching(
            aToB: FeatureMatches(featureCount: countA, targetCount: countB, depth: depthA, indices: listA.indices, cosines: listA.cosines),
            bToA: FeatureMatches(featureCount: countB, targetCount: countA, depth: depthB, indices: listB.indices, cosines: listB.cosines))
    }

    /// Rows scaled to unit Euclidean norm (computed in Float64); zero and non-finite rows become zero.
    public static func normalizedRows(_ weights: [Float], count: Int, dimension d: Int) -> [Float] {
        var result = [Float](repeating: 0, count: count * d)
        weights.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { target in
                let boxS = UncheckedSendable(source.baseAddress!), boxT = UncheckedSendable(target.baseAddress!)
                let workers = max(1, ProcessInfo.activeCores)
                parallelFor(workers) { w in
                    for j in (w * count / workers)..<((w + 1) * count / workers) {
                        let row = boxS.value + j * d, out = boxT.value + j * d
                        var sum = 0.0
                        for i in 0..<d { sum += Double(row[i]) * Double(row[i]) }
                        guard sum > 0, sum.isFinite else { continue }
                        let scale = 1 / sum.squareRoot()
                        for i in 0..<d { out[i] = Float(Double(row[i]) * scale) }
                    }
                }
            }
        }
        return result
    }

    /// Rows whose normalised form is zero (zero or non-finite decoder rows).
    public static func zeroRowCount(_ normalized: [Float], count: Int, dimension d: Int) -> Int {
        (0..<count).filter { j in (0..<d).allSatisfy { normalized[j * d + $0] == 0 } }.count
    }

    // MARK: Top lists

    struct TopLists {
        var indices: [Int32]
        var cosines: [Float]

        init(count: Int, depth: Int) {
            indices = [Int32](repeating: -1, count: count * depth)
            cosines = [Float](repeating: -.infinity, count: count * depth)
        }

        mutating func withPointers<R>(_ body: (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Float>) -> R) -> R {
            indices.withUnsafeMutableBufferPointer { i in
                cosines.withUnsafeMutableBufferPointer { c in body(i.baseAddress!, c.baseAddress!) }
            }
        }
    }

    /// Inserts (value, index) into a list sorted descending; the caller checked value > cosines[depth - 1].
    /// Equal values stay ahead of the newcomer, whose index is larger (indices arrive in increasing order).
    @inline(__always)
    static func insert(_ value: Float, _ index: Int32, indices: UnsafeMutablePointer<Int32>, cosines: UnsafeMutablePointer<Float>, depth: Int) {
        var p = depth - 1
        while p > 0 && cosines[p - 1] < value {
            cosines[p] = cosines[p - 1]
            indices[p] = indices[p - 1]
            p -= 1
        }
        cosines[p] = value
        indices[p] = index
    }

    /// One A row's list against a block row of scores (columns firstIndex ..< firstIndex + count).
    /// Eight scores at a time are compared with the list's threshold; only lanes above it are inserted.
    @inline(__always)
    static func updateRow(scores: UnsafePointer<Float>, count: Int, firstIndex: Int,
                          indices: UnsafeMutablePointer<Int32>, cosines: UnsafeMutablePointer<Float>, depth: Int) {
        var threshold = cosines[depth - 1]
        let noLanes = SIMDMask<SIMD8<Int32>>(repeating: false)
        let raw = UnsafeRawPointer(scores)
        var j = 0
        while j + 8 <= count {
            let lanes = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            let limit = SIMD8<Float>(repeating: threshold)
            // (A mask compare: `any(lanes .> SIMD8(repeating:))` compiled to a far slower loop here.)
            if (lanes .> limit) != noLanes {
                for k in j..<j + 8 where scores[k] > threshold {
                    insert(scores[k], Int32(firstIndex + k), indices: indices, cosines: cosines, depth: depth)
                    threshold = cosines[depth - 1]
                }
            }
            j += 8
        }
        for k in j..<count where scores[k] > threshold {
            insert(scores[k], Int32(firstIndex + k), indices: indices, cosines: cosines, depth: depth)
            threshold = cosines[depth - 1]
        }
    }

    /// The lists of B features `columns` (block-local) against every row of the block, rows in
    /// increasing order. Each column's threshold is kept in a contiguous array so the scan is a
    /// streaming eight-wide compare of a score row against the thresholds.
    static func updateColumns(scores: UnsafePointer<Float>, rows: Int, stride: Int, columns: Range<Int>, rowStart: Int, columnStart: Int,
                              indices: UnsafeMutablePointer<Int32>, cosines: UnsafeMutablePointer<Float>, depth: Int) {
        let width = columns.count
        let noLanes = SIMDMask<SIMD8<Int32>>(repeating: false)
        var thresholds = [Float](repeating: 0, count: width)
        for slot in 0..<width { thresholds[slot] = cosines[(columnStart + columns.lowerBound + slot) * depth + depth - 1] }
        thresholds.withUnsafeMutableBufferPointer { limit in
            let t = limit.baseAddress!
            @inline(__always) func visit(_ row: UnsafePointer<Float>, _ slot: Int, _ i: Int) {
                guard row[slot] > t[slot] else { return }
                let feature = columnStart + columns.lowerBound + slot
                insert(row[slot], Int32(rowStart + i), indices: indices + feature * depth, cosines: cosines + feature * depth, depth: depth)
                t[slot] = cosines[feature * depth + depth - 1]
            }
            for i in 0..<rows {
                let row = scores + i * stride + columns.lowerBound
                let rawRow = UnsafeRawPointer(row), rawLimit = UnsafeRawPointer(t)
                var slot = 0
                while slot + 8 <= width {
                    let lanes = rawRow.loadUnaligned(fromByteOffset: slot * 4, as: SIMD8<Float>.self)
                    let limits = rawLimit.loadUnaligned(fromByteOffset: slot * 4, as: SIMD8<Float>.self)
                    if (lanes .> limits) != noLanes {
                        for s in slot..<slot + 8 { visit(row, s, i) }
                    }
                    slot += 8
                }
                while slot < width { visit(row, slot, i); slot += 1 }
            }
        }
    }

    /// The dense cosine matrix `[countA, countB]` in one GEMM, for the optimal assignment on small
    /// pairs only (callers bound countA · countB).
    static func denseCosines(normalizedA: [Float], countA: Int, normalizedB: [Float], countB: Int, dimension d: Int) -> [Float] {
        var result = [Float](repeating: 0, count: countA * countB)
        normalizedA.withUnsafeBufferPointer { a in
            normalizedB.withUnsafeBufferPointer { b in
                result.withUnsafeMutableBufferPointer { out in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(countA), Int32(countB), Int32(d),
                                1, a.baseAddress!, Int32(d), b.baseAddress!, Int32(d), 0, out.baseAddress!, Int32(countB))
                }
            }
        }
        return result
    }
}
