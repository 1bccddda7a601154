import CBLAS

/// Encodes and decodes chunks of tokens through one dictionary, with reusable scratch buffers.
///
/// The encoder matmul goes through `cblas_sgemm`; decoding is a sparse accumulation when few
/// codes are nonzero (the usual case) and a GEMM otherwise. One instance per thread: it is not
/// safe to share, but cheap to create.
public final class SAEEncoder {
    public let sae: SparseAutoencoder
    public let maxRows: Int

    /// Codes of the last chunk, `[rows, F]` row-major.
    public private(set) var codes: [Float]
    /// Reconstruction of the last chunk, `[rows, D]` row-major (filled when requested).
    public private(set) var reconstruction: [Float]
    /// Rows of the last chunk.
    public private(set) var rowCount = 0

    private var encoderInput: [Float]
    /// Per-row factors of the input normalisation, undone on the reconstruction.
    private var rowScale: [Float]
    private var rowShift: [Float]
    private var rowOutputScale: [Float]
    private var topKHeap: TopKSelector

    public init(sae: SparseAutoencoder, maxRows: Int) {
        precondition(maxRows > 0)
        self.sae = sae
        self.maxRows = maxRows
        codes = [Float](repeating: 0, count: maxRows * sae.featureCount)
        reconstruction = [Float](repeating: 0, count: maxRows * sae.inputDimension)
        encoderInput = [Float](repeating: 0, count: maxRows * sae.inputDimension)
        rowScale = [Float](repeating: 1, count: maxRows)
        rowShift = [Float](repeating: 0, count: maxRows)
        rowOutputScale = [Float](repeating: 1, count: maxRows)
        var k = 1
        if case .topK(let value) = sae.rule { k = value }
        topKHeap = TopKSelector(capacity: k)
    }

    /// A chunk size that keeps the `[rows, F]` code buffer near 64 MiB.
    public static func suggestedChunkRows(featureCount: Int) -> Int {
        max(64, min(4096, (16 << 20) / max(featureCount, 1)))
    }

    /// Encodes `count` rows of `x` (`[count, D]` row-major); afterwards `codes` holds `f`, and
    /// `reconstruction` holds `x_hat` when `reconstruct` is true.
    public func run(_ x: UnsafePointer<Float>, rows count: Int, reconstruct: Bool) {
        precondition(count >= 0 && count <= maxRows, "chunk larger than the encoder was built for")
        rowCount = count
        guard count > 0 else { return }
        prepareInput(x, rows: count)
        encode(rows: count)
        if reconstruct { decode(x, rows: count) }
    }

    // MARK: Steps

    private func prepareInput(_ x: UnsafePointer<Float>, rows count: Int) {
        let d = sae.inputDimension
        encoderInput.withUnsafeMutableBufferPointer { input in
            for row in 0..<count {
                let source = x + row * d
                let target = input.baseAddress! + row * d
                var scale: Float = 1, shift: Float = 0, outputScale: Float = 1
                switch sae.normalization {
                case .none:
                    break
                case .scale(let factor):
                    scale = factor
                    outputScale = 1 / factor
                case .constantNormRescale:
                    var squares: Float = 0
                    for i in 0..<d { squares += source[i] * source[i] }
                    scale = Float(d).squareRoot() / squares.squareRoot()
                    outputScale = 1 / scale
                case .layerNorm:
                    var mean: Float = 0
                    for i in 0..<d { mean += source[i] }
                    mean /= Float(d)
                    var variance: Float = 0
                    for i in 0..<d { variance += (source[i] - mean) * (source[i] - mean) }
                    let std = (variance / Float(max(d - 1, 1))).squareRoot()  // torch's unbiased std
                    scale = 1 / (std + 1e-5)
                    shift = mean
                    outputScale = std  // SAELens restores with std, without the epsilon
                }
                rowScale[row] = scale
                rowShift[row] = shift
                rowOutputScale[row] = outputScale
                if sae.subtractsDecoderBias {
                    for i in 0..<d { target[i] = (source[i] - shift) * scale - sae.decoderBias[i] }
                } else {
                    for i in 0..<d { target[i] = (source[i] - shift) * scale }
                }
            }
        }
    }

    private func encode(rows count: Int) {
        let d = sae.inputDimension, f = sae.featureCount
        encoderInput.withUnsafeBufferPointer { input in
            sae.encoderWeights.withUnsafeBufferPointer { weights in
                codes.withUnsafeMutableBufferPointer { output in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                Int32(count), Int32(f), Int32(d),
                                1, input.baseAddress, Int32(d),
                                weights.baseAddress, Int32(f),
                                0, output.baseAddress, Int32(f))
                }
            }
        }
        codes.withUnsafeMutableBufferPointer { output in
            for row in 0..<count {
                applyRule(to: UnsafeMutableBufferPointer(rebasing: output[row * f..<(row + 1) * f]))
            }
        }
    }

    /// Adds the encoder bias and applies the activation rule to one row of pre-activations.
    private func applyRule(to row: UnsafeMutableBufferPointer<Float>) {
        let bias = sae.encoderBias
        let f = row.count
        switch sae.rule {
        case .relu:
            for j in 0..<f { row[j] = max(row[j] + bias[j], 0) }
        case .threshold(let thresholds):
            for j in 0..<f {
                let pre = row[j] + bias[j]
                row[j] = (pre > thresholds[j] && pre > 0) ? pre : 0
            }
        case .gated(let gateBias, let magnitudeScale, let magnitudeBias):
            for j in 0..<f {
                let pre = row[j]
                let open = pre + gateBias[j] > 0
                row[j] = open ? max(pre * magnitudeScale[j] + magnitudeBias[j], 0) : 0
            }
        case .topK:
            for j in 0..<f { row[j] += bias[j] }
            topKHeap.keepLargestPositive(row)
        case .groupMax(let k):
            let size = f / k
            for group in 0..<k {
                var best = -Float.infinity, bestIndex = group * size
                for j in group * size..<(group + 1) * size {
                    let pre = row[j] + bias[j]
                    if pre > best { best = pre; bestIndex = j }
                    row[j] = 0
                }
                if best > 0 { row[bestIndex] = best }
            }
        }
    }

    private func decode(_ x: UnsafePointer<Float>, rows count: Int) {
        let d = sae.inputDimension, f = sae.featureCount
        var nonzero = 0
        codes.withUnsafeBufferPointer { codes in
            for i in 0..<count * f where codes[i] != 0 { nonzero += 1 }
        }
        reconstruction.withUnsafeMutableBufferPointer { output in
            for row in 0..<count {
                for i in 0..<d { output[row * d + i] = sae.decoderBias[i] }
            }
            codes.withUnsafeBufferPointer { codes in
                sae.decoderWeights.withUnsafeBufferPointer { weights in
                    if nonzero * 8 < count * f {
                        // Sparse codes: accumulate only the active decoder rows.
                        for row in 0..<count {
                            let target = output.baseAddress! + row * d
                            for j in 0..<f {
                                let value = codes[row * f + j]
                                if value == 0 { continue }
                                let direction = weights.baseAddress! + j * d
                                for i in 0..<d { target[i] += value * direction[i] }
                            }
                        }
                    } else {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                    Int32(count), Int32(d), Int32(f),
                                    1, codes.baseAddress, Int32(f),
                                    weights.baseAddress, Int32(d),
                                    1, output.baseAddress, Int32(d))
                    }
                }
            }
            for row in 0..<count where rowOutputScale[row] != 1 || rowShift[row] != 0 {
                let scale = rowOutputScale[row], shift = rowShift[row]
                for i in 0..<d { output[row * d + i] = output[row * d + i] * scale + shift }
            }
            if let skip = sae.skipWeights {
                skip.withUnsafeBufferPointer { skip in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                Int32(count), Int32(d), Int32(d),
                                1, x, Int32(d), skip.baseAddress, Int32(d),
                                1, output.baseAddress, Int32(d))
                }
            }
        }
    }
}

/// Keeps the k largest positive values of a row (ties go to the lower index) and zeroes the rest,
/// with a size-k min-heap: O(F log k) per row and no allocation.
struct TopKSelector {
    private var values: [Float]
    private var indices: [Int]
    private var count = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        values = [Float](repeating: 0, count: capacity)
        indices = [Int](repeating: 0, count: capacity)
    }

    mutating func keepLargestPositive(_ row: UnsafeMutableBufferPointer<Float>) {
        count = 0
        for j in 0..<row.count {
            let value = row[j]
            guard value > 0 else { continue }
            if count < capacity {
                values[count] = value
                indices[count] = j
                count += 1
                siftUp(count - 1)
            } else if isBefore(values[0], indices[0], value, j) {
                values[0] = value
                indices[0] = j
                siftDown(0)
            }
        }
        for j in 0..<row.count { row[j] = 0 }
        for slot in 0..<count { row[indices[slot]] = values[slot] }
    }

    /// True when (a, ia) ranks below (b, ib): smaller value, or equal value at a later index.
    @inline(__always)
    private func isBefore(_ a: Float, _ ia: Int, _ b: Float, _ ib: Int) -> Bool {
        a < b || (a == b && ia > ib)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard isBefore(values[child], indices[child], values[parent], indices[parent]) else { return }
            values.swapAt(child, parent)
            indices.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < count, isBefore(values[left], indices[left], values[smallest], indices[smallest]) { smallest = left }
            if right < count, isBefore(values[right], indices[right], values[smallest], indices[smallest]) { smallest = right }
            if smallest == parent { return }
            values.swapAt(parent, smallest)
            indices.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
