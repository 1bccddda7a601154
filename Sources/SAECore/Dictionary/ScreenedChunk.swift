import CKernels
import Foundation

/// One encoder's scratch for the screened path: the chunk's low-precision rows and the candidates' output.
final class ScreenedChunk {
    /// Above this fraction of candidates in a chunk, its screen is abandoned (an int8 screen is
    /// retried in bf16, a bf16 one takes fp32; measured with `saescope bench screened`; see the README).
    nonisolated(unsafe) static var fallbackFraction = 0.10
    /// An int8 screen with a bf16 one to retry gives up sooner: one core, D=384/F=3072, the int8
    /// screen cost about 25 ms + 3.8 ms per 1% of candidates against bf16's 53 ms at its 2%, so
    /// bf16 is faster past ~7% (a cache with massive outlier dimensions: int8 39%, bf16 2.3%).
    static let int8RetryFraction = 0.07

    /// One core's output (row, feature, value) and, for top-k, its per-row scratch.
    private struct Part {
        let rows: UnsafeMutableBufferPointer<Int32>
        let features: UnsafeMutableBufferPointer<Int32>
        let values: UnsafeMutableBufferPointer<Float>
        /// lower, upper, selection scratch, candidate values: 4 x F floats; candidate features: F.
        let rowScratch: UnsafeMutableBufferPointer<Float>
        let candidateFeatures: UnsafeMutableBufferPointer<Int32>
        var kept = 0
        var candidates = 0
    }

    let weights: ScreenedWeights
    let maxRows: Int
    /// The packing the next chunk starts with: after an int8 screen has been abandoned (a cache
    /// whose rows int8 cannot resolve, such as massive outlier dimensions), the rest start in bf16.
    private var startPacking = 0
    /// A chunk's rows in the current precision (bf16: 2*d_pad bytes a row; int8: d_pad4), padded to the tile.
    private let converted: UnsafeMutableRawBufferPointer
    private let rowNorms: UnsafeMutableBufferPointer<Double>
    private let rowScale: UnsafeMutableBufferPointer<Float>
    private let rowE: UnsafeMutableBufferPointer<Float>
    private let rowN: UnsafeMutableBufferPointer<Float>
    private var parts: [Part]

    init(weights: ScreenedWeights, maxRows: Int, parts partCount: Int) {
        self.weights = weights
        self.maxRows = maxRows
        let d = weights.inputDimension, f = weights.featureCount
        let tile = Int(CK_BF16_TILE_ROWS)
        let paddedRows = (maxRows + tile - 1) / tile * tile
        let rowBytes = max(2 * ((d + 1) & ~1), (d + 3) & ~3)
        converted = .allocate(byteCount: paddedRows * rowBytes, alignment: 64)
        converted.initializeMemory(as: UInt8.self, repeating: 0)
        rowNorms = .allocate(capacity: 2 * maxRows)
        rowScale = .allocate(capacity: paddedRows)
        rowScale.initialize(repeating: 0)
        rowE = .allocate(capacity: maxRows)
        rowN = .allocate(capacity: maxRows)
        let count = max(1, min(partCount, (f + 63) / 64))
        let capacity = Int(Double(maxRows) * Double(f) * Self.fallbackFraction / Double(count)) + max(64, weights.topK ?? 0) * maxRows
        let scratch = weights.topK == nil ? 1 : f
        parts = (0..<count).map { _ in
            Part(rows: .allocate(capacity: capacity), features: .allocate(capacity: capacity), values: .allocate(capacity: capacity),
                 rowScratch: .allocate(capacity: 4 * scratch), candidateFeatures: .allocate(capacity: scratch))
        }
    }

    deinit {
        converted.deallocate()
        rowNorms.deallocate()
        rowScale.deallocate()
        rowE.deallocate()
        rowN.deallocate()
        for part in parts {
            part.rows.deallocate()
            part.features.deallocate()
            part.values.deallocate()
            part.rowScratch.deallocate()
            part.candidateFeatures.deallocate()
        }
    }

    /// Screens `count` prepared rows `x` and writes the kept codes as CSR rows; false (and nothing
    /// written) when the chunk must take the fp32 path. `products` ([rows, F]) receives the
    /// low-precision products for top-k. Adds the chunk to `statistics`.
    func encode(_ x: UnsafePointer<Float>, rows count: Int, products: UnsafeMutablePointer<Float>,
                rowStart: inout [Int], features: inout [Int32], values: inout [Float],
                statistics: inout ScreenedEncodeStatistics) -> Bool {
        guard ck_all_finite(x, count * weights.inputDimension) != 0 else {
            statistics.fallbackChunks += 1
            return false
        }
        for index in startPacking..<weights.precisions.count {
            let packing = weights.packing(index)
            convert(x, rows: count, packing.precision)
            // Tokens so large that a product could overflow fp32 void the proof's assumptions.
            var largestRow = 0.0
            for r in 0..<count { largestRow = max(largestRow, rowNorms[2 * r] + rowNorms[2 * r + 1]) }
            guard largestRow * packing.largestNorm < 0x1p100 else { break }
            let retries = index + 1 < weights.precisions.count
            let limit = packing.precision == .int8 && retries ? min(Self.fallbackFraction, Self.int8RetryFraction) : Self.fallbackFraction
            if screen(x, rows: count, packing, limit: limit, products: products, statistics: &statistics) {
                switch packing.precision {
                case .int8: statistics.int8Chunks += 1
                case .bf16: statistics.bf16Chunks += 1
                }
                assemble(rows: count, rowStart: &rowStart, features: &features, values: &values)
                return true
            }
            if packing.precision == .int8, retries {
                statistics.int8Abandoned += 1
                startPacking = index + 1
            }
        }
        statistics.fallbackChunks += 1
        return false
    }

    /// One screen of the chunk in `packing`'s precision; false when a part gave up (more than
    /// `fraction` of its entries candidates).
    private func screen(_ x: UnsafePointer<Float>, rows count: Int, _ packing: ScreenedWeights.Packing, limit fraction: Double,
                        products: UnsafeMutablePointer<Float>,
                        statistics: inout ScreenedEncodeStatistics) -> Bool {
        let d = weights.inputDimension, f = weights.featureCount
        let partCount = parts.count, weights = self.weights
        let converted = self.converted.baseAddress!, rowE = self.rowE.baseAddress!, rowN = self.rowN.baseAddress!
        let rowScale = self.rowScale.baseAddress!
        let columnScale = UncheckedSendable(packing.columnScale), correction = UncheckedSendable(packing.correction)
        let int8 = packing.precision == .int8
        parts.withUnsafeMutableBufferPointer { parts in
            let parts = UncheckedSendable(parts)
            if let k = weights.topK {
                parallelFor(partCount) { part in
                    let columns = SAEEncoder.columnBlock(part, of: partCount, features: f)
                    if int8 {
                        ck_i8_multiply(converted.assumingMemoryBound(to: UInt8.self), rowScale, packing.packed.baseAddress!.assumingMemoryBound(to: Int8.self),
                                       columnScale.value, correction.value, count, d, f, columns.lowerBound, columns.upperBound, products, f)
                    } else {
                        ck_bf16_multiply(converted.assumingMemoryBound(to: UInt16.self), packing.packed.baseAddress!.assumingMemoryBound(to: UInt16.self),
                                         count, d, f, columns.lowerBound, columns.upperBound, products, f)
                    }
                }
                parallelFor(min(partCount, count)) { part in
                    let blocks = min(partCount, count)
                    let first = part * count / blocks, last = (part + 1) * count / blocks
                    let p = parts.value[part], scratch = p.rowScratch.baseAddress!
                    var met = 0
                    let kept = ck_screen_topk_rows(products, f, first, last, f, k, rowE, rowN, packing.columnP, packing.columnQ,
                                                   weights.bias, weights.absolute, x, d, weights.transposed,
                                                   scratch, scratch + f, scratch + 2 * f, p.candidateFeatures.baseAddress!, scratch + 3 * f,
                                                   p.rows.baseAddress!, p.features.baseAddress!, p.values.baseAddress!, p.rows.count,
                                                   Int(Double(last - first) * Double(f) * fraction), &met)
                    parts.value[part].kept = kept
                    parts.value[part].candidates = met
                }
                for part in min(partCount, count)..<partCount { parts.value[part].kept = 0; parts.value[part].candidates = 0 }
            } else if let test = weights.test {
                parallelFor(partCount) { part in
                    let columns = SAEEncoder.columnBlock(part, of: partCount, features: f)
                    let p = parts.value[part]
                    var met = 0
                    let limit = Int(Double(count) * Double(columns.count) * fraction)
                    let kept = int8
                        ? ck_i8_screen_elementwise(
                            converted.assumingMemoryBound(to: UInt8.self), rowScale, packing.packed.baseAddress!.assumingMemoryBound(to: Int8.self),
                            columnScale.value, correction.value, count, d, f, columns.lowerBound, columns.upperBound,
                            rowE, rowN, packing.columnP, packing.columnQ, weights.cut,
                            x, weights.transposed, weights.bias, test.floor, test.addsBias ? 1 : 0, test.keepsNaN ? 1 : 0,
                            p.rows.baseAddress!, p.features.baseAddress!, p.values.baseAddress!, p.rows.count, limit, &met)
                        : ck_screen_elementwise(
                            converted.assumingMemoryBound(to: UInt16.self), packing.packed.baseAddress!.assumingMemoryBound(to: UInt16.self),
                            count, d, f, columns.lowerBound, columns.upperBound,
                            rowE, rowN, packing.columnP, packing.columnQ, weights.cut,
                            x, weights.transposed, weights.bias, test.floor, test.addsBias ? 1 : 0, test.keepsNaN ? 1 : 0,
                            p.rows.baseAddress!, p.features.baseAddress!, p.values.baseAddress!, p.rows.count, limit, &met)
                    parts.value[part].kept = kept
                    parts.value[part].candidates = met
                }
            }
        }
        let candidates = parts.reduce(0) { $0 + $1.candidates }
        statistics.candidateFractions.append(Double(candidates) / Double(max(1, count * f)))
        return parts.allSatisfy { $0.kept >= 0 }
    }

    /// The chunk's rows in `precision` and the bound's per-row factors e and n (rounded up), rows
    /// split across the cores.
    private func convert(_ x: UnsafePointer<Float>, rows count: Int, _ precision: ScreenPrecision) {
        let d = weights.inputDimension
        let blockCount = min(parts.count, count)
        let slack = 1 + Double(d + 2) * 0x1p-52
        let norms = rowNorms.baseAddress!, rowE = self.rowE.baseAddress!, rowN = self.rowN.baseAddress!
        let converted = self.converted.baseAddress!, rowScale = self.rowScale.baseAddress!
        parallelFor(blockCount) { b in
            let first = b * count / blockCount, last = (b + 1) * count / blockCount
            switch precision {
            case .bf16: ck_bf16_convert_rows(x, d, first, last, converted.assumingMemoryBound(to: UInt16.self), norms)
            case .int8: ck_i8_convert_rows(x, d, first, last, converted.assumingMemoryBound(to: UInt8.self), rowScale, norms)
            }
            for r in first..<last {
                rowE[r] = ScreenedWeights.roundedUp(norms[2 * r] * slack)
                rowN[r] = ScreenedWeights.roundedUp(norms[2 * r + 1] * slack)
            }
        }
    }

    /// The parts' (row, feature, value) lists as CSR rows, features ascending within a row (each
    /// part lists every row's features in ascending order, and parts hold ascending ranges).
    private func assemble(rows count: Int, rowStart: inout [Int], features: inout [Int32], values: inout [Float]) {
        var counts = [Int](repeating: 0, count: count + 1)
        for part in parts {
            for e in 0..<part.kept { counts[Int(part.rows[e]) + 1] += 1 }
        }
        for r in 0..<count { counts[r + 1] += counts[r] }
        let total = counts[count]
        rowStart.removeAll(keepingCapacity: true)
        rowStart.append(contentsOf: counts)
        features.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        features.append(contentsOf: repeatElement(0, count: total))
        values.append(contentsOf: repeatElement(0, count: total))
        var cursor = counts
        features.withUnsafeMutableBufferPointer { features in
            values.withUnsafeMutableBufferPointer { values in
                for part in parts {
                    for e in 0..<part.kept {
                        let r = Int(part.rows[e])
                        features[cursor[r]] = part.features[e]
                        values[cursor[r]] = part.values[e]
                        cursor[r] += 1
                    }
                }
            }
        }
    }
}
