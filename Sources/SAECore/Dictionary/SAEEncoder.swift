import CBLAS
import CKernels
import Foundation

/// Encodes and decodes chunks of tokens through one dictionary, with reusable scratch buffers.
///
/// The encoder matmul goes through `cblas_sgemm`, split by columns across the cores. One fused
/// pass (split across cores) then adds the bias, applies the activation rule and lists every
/// nonzero code per row (CSR), so decoding, metrics and indexing touch only the nonzeros;
/// elementwise rules (ReLU, JumpReLU) are only tested there, and the dense codes are written
/// when `codes` is read. Decoding falls back to a GEMM when codes are dense. One instance per thread.
///
/// Where the CPU has AVX512_VNNI or AVX512_BF16 and the rule is ReLU, JumpReLU or top-k, the encode
/// is screened (ScreenedEncode.swift): int8 or bf16 pre-activations with a proven error bound,
/// every entry the bound cannot rule out recomputed in fp32; a chunk with too many candidates
/// is retried in bf16 (after int8) and then takes the fp32 path.
public final class SAEEncoder {
    /// Forces the fp32 sgemm path everywhere (`--exact-fp32`, or `SAESCOPE_EXACT_FP32=1`, which
    /// child processes inherit). Read when an encoder is made.
    nonisolated(unsafe) public static var exactFP32 = ProcessInfo.processInfo.environment["SAESCOPE_EXACT_FP32"] == "1"

    /// Above this fraction of candidates (of rows x F) a chunk's screen is abandoned for fp32
    /// (for the benchmark that measures the break-even; read when an encoder is made).
    public static var screenFallbackFraction: Double {
        get { ScreenedChunk.fallbackFraction }
        set { ScreenedChunk.fallbackFraction = newValue }
    }

    /// Sets `exactFP32` for this process and the processes it starts.
    public static func forceExactFP32() {
        exactFP32 = true
        setenv("SAESCOPE_EXACT_FP32", "1", 1)
    }

    public let sae: SparseAutoencoder
    public let maxRows: Int

    private let codeStorage: UnsafeMutableBufferPointer<Float>
    private let reconstructionStorage: UnsafeMutableBufferPointer<Float>
    /// The prepared inputs, freed once no encoder uses them (one encoder, or two taking turns).
    private let inputOwner: InputOwner
    private var inputStorage: UnsafeMutableBufferPointer<Float> { inputOwner.storage }
    /// Set while `run` works in the shared scratch: encoders taking turns never run at once.
    private let running: RunningFlag
    /// Per-row factors of the input normalisation, undone on the reconstruction.
    private var rowScale: [Float]
    private var rowShift: [Float]
    private var rowOutputScale: [Float]
    private var blocks: [RuleBlock]
    /// For elementwise rules: how the rule pass finds the nonzero codes without writing them.
    private let scanTest: RuleBlock.ScanTest?
    /// The screened path's scratch, when that path runs for this dictionary (see `path`).
    private let screen: ScreenedChunk?
    /// Which path this encoder takes for chunks the screen does not give up on.
    public let path: EncodePath
    /// What the screened path did so far (chunks screened, fallbacks, candidate fractions).
    public private(set) var screenedStatistics = ScreenedEncodeStatistics()

    /// Rows of the last chunk.
    public private(set) var rowCount = 0
    /// Whether `codeStorage` still holds pre-activations: an elementwise rule's codes are listed
    /// without being written back (one read of the `[rows, F]` block instead of a read and a write).
    private var denseCodesPending = false
    /// Whether `codeStorage` is stale and the dense codes must be written from the active lists
    /// (after a screened chunk, which never writes the `[rows, F]` block).
    private var denseCodesFromActive = false
    /// Nonzero codes of the last chunk: row r's are `activeFeature/activeValue[activeRowStart[r] ..< activeRowStart[r+1]]`.
    public private(set) var activeRowStart: [Int] = [0]
    public private(set) var activeFeature: [Int32] = []
    public private(set) var activeValue: [Float] = []

    public convenience init(sae: SparseAutoencoder, maxRows: Int) {
        self.init(sae: sae, maxRows: maxRows, partner: nil)
    }

    /// A second encoder of `partner`'s dictionary and row count that takes turns with it (the
    /// two must never run at once; the chunk pipeline runs them one after the other): it has
    /// outputs of its own (codes, reconstruction, active lists), which stay valid while the
    /// partner runs, but shares the scratch that only lives during a run (the prepared inputs
    /// and the screened path's buffers: at D = 384, F = 3072, 4096 rows, 10 MiB of pages the
    /// kernel no longer faults in and zeroes a second time).
    public convenience init(takingTurnsWith partner: SAEEncoder) {
        self.init(sae: partner.sae, maxRows: partner.maxRows, partner: partner)
    }

    private init(sae: SparseAutoencoder, maxRows: Int, partner: SAEEncoder?) {
        precondition(maxRows > 0)
        self.sae = sae
        self.maxRows = maxRows
        codeStorage = .allocate(capacity: maxRows * sae.featureCount)
        reconstructionStorage = .allocate(capacity: maxRows * sae.outputDimension)
        if let partner {
            inputOwner = partner.inputOwner
            running = partner.running
        } else {
            inputOwner = InputOwner(.allocate(capacity: maxRows * sae.inputDimension))
            running = RunningFlag()
        }
        // No zeroing pass: the codes are always written by the matmul, the inputs by
        // `prepareInput` and the reconstruction by `decode` before they are read (at F = 3072
        // and 4096 rows, 48 MiB written once more for nothing); the pages are first touched by
        // those passes, on all the cores, instead of by the thread making the encoder.
        rowScale = [Float](repeating: 1, count: maxRows)
        rowShift = [Float](repeating: 0, count: maxRows)
        rowOutputScale = [Float](repeating: 1, count: maxRows)
        var k = 1
        if case .topK(let value) = sae.rule { k = value }
        blocks = (0..<max(1, ProcessInfo.activeCores)).map { _ in RuleBlock(topK: k, featureCount: sae.featureCount) }
        scanTest = RuleBlock.ScanTest(sae)
        path = partner?.path ?? EncodePath.chosen(for: sae)
        if let partner {
            screen = partner.screen
        } else if case .screened = path, let weights = ScreenedWeights.shared(for: sae) {
            screen = ScreenedChunk(weights: weights, maxRows: maxRows, parts: max(1, ProcessInfo.activeCores))
        } else {
            screen = nil
        }
    }

    deinit {
        codeStorage.deallocate()
        reconstructionStorage.deallocate()
    }

    /// Owns the prepared-input buffer that partner encoders share.
    private final class InputOwner {
        let storage: UnsafeMutableBufferPointer<Float>
        init(_ storage: UnsafeMutableBufferPointer<Float>) { self.storage = storage }
        deinit { storage.deallocate() }
    }

    /// Whether one of the encoders sharing a scratch is running (a misuse check, not a lock).
    private final class RunningFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var isRunning = false

        func enter() {
            lock.lock()
            defer { lock.unlock() }
            precondition(!isRunning, "encoders that take turns ran at the same time")
            isRunning = true
        }

        func leave() {
            lock.lock()
            isRunning = false
            lock.unlock()
        }
    }

    /// Codes of the last chunk, `[rows, F]` row-major (valid until the next `run`).
    public var codes: UnsafeBufferPointer<Float> {
        materializeDenseCodes()
        return UnsafeBufferPointer(rebasing: codeStorage[0..<rowCount * sae.featureCount])
    }

    /// Reconstruction of the last chunk, `[rows, D_out]` row-major (when `run` was asked to reconstruct).
    public var reconstruction: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(rebasing: reconstructionStorage[0..<rowCount * sae.outputDimension])
    }

    /// The active codes of the last chunk from row `first` on, for the duration of `body`.
    public func withActiveCodes<T>(fromRow first: Int, _ body: (SparseCodeRows) throws -> T) rethrows -> T {
        try activeRowStart.withUnsafeBufferPointer { starts in
            try activeFeature.withUnsafeBufferPointer { features in
                try activeValue.withUnsafeBufferPointer { values in
                    // Empty arrays may have no base address; a dummy keeps the pointers valid.
                    var dummyFeature: Int32 = 0, dummyValue: Float = 0
                    return try body(SparseCodeRows(rowStart: starts.baseAddress! + first,
                                                   features: features.baseAddress ?? withUnsafePointer(to: &dummyFeature) { $0 },
                                                   values: values.baseAddress ?? withUnsafePointer(to: &dummyValue) { $0 }))
                }
            }
        }
    }

    /// A chunk size that keeps the `[rows, F]` code buffer near 64 MiB.
    public static func suggestedChunkRows(featureCount: Int) -> Int {
        max(64, min(4096, (16 << 20) / max(featureCount, 1)))
    }

    /// Encodes `count` rows of `x` (`[count, D]` row-major); afterwards `codes` and the active
    /// lists hold `f`, and `reconstruction` holds `x_hat` when `reconstruct` is true.
    public func run(_ x: UnsafePointer<Float>, rows count: Int, reconstruct: Bool) {
        precondition(count >= 0 && count <= maxRows, "chunk larger than the encoder was built for")
        rowCount = count
        denseCodesPending = false
        denseCodesFromActive = false
        activeRowStart.removeAll(keepingCapacity: true)
        activeRowStart.append(0)
        activeFeature.removeAll(keepingCapacity: true)
        activeValue.removeAll(keepingCapacity: true)
        guard count > 0 else { return }
        running.enter()
        defer { running.leave() }
        prepareInput(x, rows: count)
        encode(rows: count)
        if reconstruct { decode(x, rows: count) }
    }

    // MARK: Steps

    /// Rows split across the cores: each row's factors depend on that row only.
    private func prepareInput(_ x: UnsafePointer<Float>, rows count: Int) {
        let blockCount = min(blocks.count, count)
        rowScale.withUnsafeMutableBufferPointer { rowScale in
            rowShift.withUnsafeMutableBufferPointer { rowShift in
                rowOutputScale.withUnsafeMutableBufferPointer { rowOutputScale in
                    parallelFor(blockCount) { b in
                        prepareInput(x, rows: (b * count / blockCount)..<((b + 1) * count / blockCount),
                                     scale: rowScale.baseAddress!, shift: rowShift.baseAddress!, outputScale: rowOutputScale.baseAddress!)
                    }
                }
            }
        }
    }

    private func prepareInput(_ x: UnsafePointer<Float>, rows: Range<Int>, scale rowScale: UnsafeMutablePointer<Float>,
                              shift rowShift: UnsafeMutablePointer<Float>, outputScale rowOutputScale: UnsafeMutablePointer<Float>) {
        let d = sae.inputDimension
        let input = inputStorage.baseAddress!
        for row in rows {
            let source = x + row * d
            let target = input + row * d
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

    private func encode(rows count: Int) {
        let f = sae.featureCount
        if let screen, screen.encode(UnsafePointer(inputStorage.baseAddress!), rows: count, products: codeStorage.baseAddress!, rowStart: &activeRowStart,
                                     features: &activeFeature, values: &activeValue, statistics: &screenedStatistics) {
            denseCodesFromActive = true
            return
        }
        // The matmul, split by columns across the cores on the encoder's own threads (see BLASThreads).
        // Splitting rows instead, a cache-sized block at a time with the rule applied while the
        // block is in cache, measured no faster at F=3072 and 5% slower at F=32768 (each core
        // packs all the weights for its few rows).
        let parts = max(1, min(blocks.count, f / 512))
        BLASThreads.withSingleThread(parts > 1) {
            parallelFor(parts) { part in multiply(rows: count, columns: Self.columnBlock(part, of: parts, features: f)) }
        }
        // Fused rule + compaction, rows split evenly across the cores. Elementwise rules only
        // read the pre-activations; their dense codes are written if asked for.
        denseCodesPending = scanTest != nil
        let rowBlocks = min(blocks.count, count)
        let sae = self.sae, scanTest = self.scanTest, codes = codeStorage.baseAddress!
        blocks.withUnsafeMutableBufferPointer { blocks in
            parallelFor(rowBlocks) { b in
                let rows = (b * count / rowBlocks)..<((b + 1) * count / rowBlocks)
                blocks[b].reset()
                if let scanTest {
                    blocks[b].scan(rows: rows, preActivations: codes, sae: sae, test: scanTest)
                } else {
                    blocks[b].process(rows: rows, codes: codes, sae: sae)
                }
            }
        }
        for b in 0..<rowBlocks {
            let base = activeFeature.count
            for end in blocks[b].rowEnds { activeRowStart.append(end + base) }
            activeFeature.append(contentsOf: blocks[b].features)
            activeValue.append(contentsOf: blocks[b].values)
        }
    }

    /// Core `part`'s columns; blocks start on multiples of 64, where BLAS kernels tile evenly.
    static func columnBlock(_ part: Int, of parts: Int, features f: Int) -> Range<Int> {
        (part == 0 ? 0 : (part * f / parts) & ~63)..<(part == parts - 1 ? f : ((part + 1) * f / parts) & ~63)
    }

    /// Pre-activations of `columns` for `rows` rows into the code buffer (without the bias).
    private func multiply(rows count: Int, columns: Range<Int>) {
        let d = sae.inputDimension, f = sae.featureCount
        sae.encoderWeights.withUnsafeBufferPointer { weights in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                        Int32(count), Int32(columns.count), Int32(d),
                        1, inputStorage.baseAddress, Int32(d),
                        weights.baseAddress! + columns.lowerBound, Int32(f),
                        0, codeStorage.baseAddress! + columns.lowerBound, Int32(f))
        }
    }

    /// Applies the rule in place to the pre-activations that `scan` left, so the buffer holds the codes.
    private func materializeDenseCodes() {
        if denseCodesFromActive {
            denseCodesFromActive = false
            let f = sae.featureCount, codes = codeStorage.baseAddress!
            (codes).update(repeating: 0, count: rowCount * f)
            for row in 0..<rowCount {
                for e in activeRowStart[row]..<activeRowStart[row + 1] { codes[row * f + Int(activeFeature[e])] = activeValue[e] }
            }
            return
        }
        guard denseCodesPending else { return }
        denseCodesPending = false
        let count = rowCount, blockCount = min(blocks.count, count)
        let codes = codeStorage.baseAddress!, sae = self.sae
        parallelFor(blockCount) { b in
            RuleBlock.applyElementwise(rows: (b * count / blockCount)..<((b + 1) * count / blockCount), codes: codes, sae: sae)
        }
    }

    private func decode(_ x: UnsafePointer<Float>, rows count: Int) {
        let d = sae.outputDimension, f = sae.featureCount, dIn = sae.inputDimension
        let output = reconstructionStorage.baseAddress!
        let blockCount = min(blocks.count, count)
        sae.decoderWeights.withUnsafeBufferPointer { weights in
            sae.decoderBias.withUnsafeBufferPointer { bias in
                if activeFeature.count * 8 < count * f {
                    // Sparse codes: each row is the bias plus its active decoder rows (no separate bias fill).
                    activeRowStart.withUnsafeBufferPointer { starts in
                        activeFeature.withUnsafeBufferPointer { features in
                            activeValue.withUnsafeBufferPointer { values in
                                parallelFor(blockCount) { b in
                                    for row in (b * count / blockCount)..<((b + 1) * count / blockCount) {
                                        let first = starts[row]
                                        ck_accumulate_rows(output + row * d, bias.baseAddress!, d, features.baseAddress! + first,
                                                           values.baseAddress! + first, starts[row + 1] - first, weights.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                } else {
                    parallelFor(blockCount) { b in
                        for row in (b * count / blockCount)..<((b + 1) * count / blockCount) { (output + row * d).update(from: bias.baseAddress!, count: d) }
                    }
                    materializeDenseCodes()
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                Int32(count), Int32(d), Int32(f),
                                1, codeStorage.baseAddress, Int32(f),
                                weights.baseAddress, Int32(d),
                                1, output, Int32(d))
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
                            Int32(count), Int32(d), Int32(dIn),
                            1, x, Int32(dIn), skip.baseAddress, Int32(d),
                            1, output, Int32(d))
            }
        }
    }
}

/// Runs BLAS single-threaded while the encoder splits its matmul across its own threads.
/// OpenBLAS's worker threads busy-wait for a while after every call, so between the encoder's
/// matmuls they would take the cores from its parallel passes (rule, decode, indexing); with
/// BLAS single-threaded they go to sleep. Results differ from one BLAS call only in the last
/// bits, as they already do between BLAS thread counts. Reference counted, so concurrent
/// encoders restore the caller's setting only when the last one is done.
enum BLASThreads {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var holders = 0
    nonisolated(unsafe) private static var saved: Int32 = 1

    /// Runs `body` with BLAS single-threaded when `condition` holds.
    static func withSingleThread<R>(_ condition: Bool = true, _ body: () throws -> R) rethrows -> R {
        guard condition else { return try body() }
        lock.lock()
        if holders == 0 {
            saved = openblas_get_num_threads()
            openblas_set_num_threads(1)
        }
        holders += 1
        lock.unlock()
        defer {
            lock.lock()
            holders -= 1
            if holders == 0 { openblas_set_num_threads(saved) }
            lock.unlock()
        }
        return try body()
    }
}

/// One core's share of the rule pass: its rows' nonzero codes, and its own top-k scratch.
struct RuleBlock {
    /// Where each row's codes end in `features`/`values`.
    var rowEnds: [Int] = []
    var features: [Int32] = []
    var values: [Float] = []
    var selector: TopKSelector
    /// One row's codes as the scan kernel writes them (a row has at most F).
    private var rowFeatures: [Int32]
    private var rowValues: [Float]

    init(topK: Int, featureCount: Int) {
        selector = TopKSelector(capacity: topK)
        rowFeatures = [Int32](repeating: 0, count: max(1, featureCount))
        rowValues = [Float](repeating: 0, count: max(1, featureCount))
    }

    mutating func reset() {
        rowEnds.removeAll(keepingCapacity: true)
        features.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }

    /// Adds the encoder bias to rows of pre-activations, applies the rule in place, and lists the nonzeros.
    mutating func process(rows: Range<Int>, codes: UnsafeMutablePointer<Float>, sae: SparseAutoencoder) {
        let f = sae.featureCount
        sae.encoderBias.withUnsafeBufferPointer { bias in
            for row in rows {
                let pre = codes + row * f
                switch sae.rule {
                case .relu:
                    // A branch-free (vectorisable) pass, then a scan for the few nonzeros.
                    for j in 0..<f { pre[j] = max(pre[j] + bias[j], 0) }
                    collect(pre, f)
                case .threshold(let thresholds):
                    thresholds.withUnsafeBufferPointer { thresholds in
                        for j in 0..<f {
                            let value = pre[j] + bias[j]
                            pre[j] = (value > thresholds[j] && value > 0) ? value : 0
                        }
                    }
                    collect(pre, f)
                case .gated(let gateBias, let magnitudeScale, let magnitudeBias):
                    for j in 0..<f {
                        let value = pre[j]
                        let kept = value + gateBias[j] > 0 ? max(value * magnitudeScale[j] + magnitudeBias[j], 0) : 0
                        pre[j] = kept
                        if kept != 0 { append(j, kept) }
                    }
                case .topK:
                    for j in 0..<f { pre[j] += bias[j] }
                    selector.keepLargestPositive(UnsafeMutableBufferPointer(start: pre, count: f))
                    collect(pre, f)
                case .groupMax(let k):
                    let size = f / k
                    for group in 0..<k {
                        var best = -Float.infinity, bestIndex = group * size
                        for j in group * size..<(group + 1) * size {
                            let value = pre[j] + bias[j]
                            if value > best { best = value; bestIndex = j }
                            pre[j] = 0
                        }
                        if best > 0 { pre[bestIndex] = best }
                    }
                    collect(pre, f)
                }
                rowEnds.append(features.count)
            }
        }
    }

    /// How `scan` tests a pre-activation p of feature j against `floor[j]` (see `ScanTest.init`).
    struct ScanTest {
        /// Compare p + bias rather than p.
        let addsBias: Bool
        /// Keep "not (value <= floor)", NaN included (ReLU), rather than "value > floor" (JumpReLU).
        let keepsNaN: Bool
        let floor: [Float]

        /// nil for the rules that `scan` does not handle.
        init?(_ sae: SparseAutoencoder) {
            switch sae.rule {
            case .relu where sae.encoderBias.allSatisfy(\.isFinite):
                // max(p + b, 0) != 0 exactly when not (p <= -b), NaN included: the rounded sum has
                // the sign of the exact one and is zero only when it is, so the add can wait until
                // a code is found.
                (addsBias, keepsNaN, floor) = (false, true, sae.encoderBias.map { -$0 })
            case .relu:
                (addsBias, keepsNaN, floor) = (true, true, [Float](repeating: 0, count: sae.featureCount))
            case .threshold(let thresholds):
                // v > t and v > 0 is v > max(t, 0) (never for a NaN t or v).
                (addsBias, keepsNaN, floor) = (true, false, thresholds.map { max($0, 0) })
            case .gated, .topK, .groupMax:
                return nil
            }
        }
    }

    /// Lists the codes of an elementwise rule from the pre-activations of `rows`, leaving those
    /// as they are (exactly the nonzeros, NaN included, that `process` would leave): each row is
    /// tested against `test.floor` by `ck_scan_row` (sixteen features per compare with AVX-512).
    mutating func scan(rows: Range<Int>, preActivations: UnsafeMutablePointer<Float>, sae: SparseAutoencoder, test: ScanTest) {
        let f = sae.featureCount
        sae.encoderBias.withUnsafeBufferPointer { bias in
            test.floor.withUnsafeBufferPointer { floor in
                for row in rows {
                    let found = rowFeatures.withUnsafeMutableBufferPointer { rowFeatures in
                        rowValues.withUnsafeMutableBufferPointer { rowValues in
                            ck_scan_row(preActivations + row * f, bias.baseAddress!, floor.baseAddress!, f,
                                        test.addsBias ? 1 : 0, test.keepsNaN ? 1 : 0, rowFeatures.baseAddress!, rowValues.baseAddress!)
                        }
                    }
                    rowFeatures.withUnsafeBufferPointer { features.append(contentsOf: $0[0..<found]) }
                    rowValues.withUnsafeBufferPointer { values.append(contentsOf: $0[0..<found]) }
                    rowEnds.append(features.count)
                }
            }
        }
    }

    /// What `process` does to the codes of an elementwise rule, without listing them.
    static func applyElementwise(rows: Range<Int>, codes: UnsafeMutablePointer<Float>, sae: SparseAutoencoder) {
        let f = sae.featureCount
        sae.encoderBias.withUnsafeBufferPointer { bias in
            for row in rows {
                let pre = codes + row * f
                switch sae.rule {
                case .relu:
                    for j in 0..<f { pre[j] = max(pre[j] + bias[j], 0) }
                case .threshold(let thresholds):
                    thresholds.withUnsafeBufferPointer { thresholds in
                        for j in 0..<f {
                            let value = pre[j] + bias[j]
                            pre[j] = (value > thresholds[j] && value > 0) ? value : 0
                        }
                    }
                case .gated, .topK, .groupMax:
                    preconditionFailure("not an elementwise rule with a scan")
                }
            }
        }
    }

    @inline(__always)
    private mutating func append(_ feature: Int, _ value: Float) {
        features.append(Int32(truncatingIfNeeded: feature))
        values.append(value)
    }

    /// Lists a row's nonzeros, skipping all-zero blocks of eight with one test.
    private mutating func collect(_ row: UnsafeMutablePointer<Float>, _ f: Int) {
        var j = 0
        while j + 8 <= f {
            let block = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
            if any(block .!= 0) {
                for i in j..<j + 8 where row[i] != 0 { append(i, row[i]) }
            }
            j += 8
        }
        while j < f {
            if row[j] != 0 { append(j, row[j]) }
            j += 1
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
