import Foundation

/// The screened encode against the fp32 one and against the best-kernel sgemm of the same shape,
/// all in one run: in-process encode (pre-activations + rule + sparse codes) of every chunk by
/// both paths, the candidate fraction of each chunk and the fallbacks, and whole-process
/// `saescope index` with and without `--exact-fp32` (child processes).
public enum ScreenedBenchmark {
    public struct Shape: Sendable {
        public var d: Int
        public var f: Int
        public var n: Int
        public init(d: Int, f: Int, n: Int) {
            self.d = d
            self.f = f
            self.n = n
        }
    }

    /// The two shapes the targets name.
    public static let standard: [Shape] = [Shape(d: 384, f: 3072, n: 32768), Shape(d: 512, f: 32768, n: 8192)]
    /// Encode (screened) throughput wanted, as a multiple of the best-kernel sgemm's.
    public static let encodeTarget = 1.8
    /// Whole `index` wanted, as a multiple of the fp32 path's.
    public static let indexTarget = 1.6

    public struct Result: Sendable {
        public var shape: Shape
        public var path: EncodePath
        /// sgemm alone, this process (saescope's kernels), best pass.
        public var sgemmSeconds: Double
        /// The best kernel family's sgemm (child processes), as seconds for this shape.
        public var bestSGEMMSeconds: Double
        public var bestFamily: String
        public var screenedEncodeSeconds: Double
        public var fp32EncodeSeconds: Double
        /// CPU seconds (all threads) of the same passes: steadier than wall time on a loaded machine.
        public var sgemmCPUSeconds: Double
        public var bestSGEMMCPUSeconds: Double
        public var screenedEncodeCPUSeconds: Double
        public var fp32EncodeCPUSeconds: Double
        public var indexCPUSeconds: Double
        public var indexFP32CPUSeconds: Double
        /// The one-time bf16 conversion of the weights (per dictionary, included in the index runs).
        public var weightConversionSeconds: Double
        public var statistics: ScreenedEncodeStatistics
        /// Whole-process `index`, screened (default) and `--exact-fp32`.
        public var indexSeconds: Double
        public var indexFP32Seconds: Double
        /// Nonzero codes found by each path over all tokens (equal up to threshold ties).
        public var screenedNonzeros: Int
        public var fp32Nonzeros: Int

        public var encodeRatioToBestSGEMM: Double { bestSGEMMSeconds / screenedEncodeSeconds }
        public var encodeRatioToFP32Encode: Double { fp32EncodeSeconds / screenedEncodeSeconds }
        public var indexRatio: Double { indexFP32Seconds / indexSeconds }
        public var encodeCPURatioToBestSGEMM: Double { bestSGEMMCPUSeconds / screenedEncodeCPUSeconds }
        public var encodeCPURatioToFP32Encode: Double { fp32EncodeCPUSeconds / screenedEncodeCPUSeconds }
        public var indexCPURatio: Double { indexFP32CPUSeconds / indexCPUSeconds }
    }

    /// `topK`: a top-k dictionary of the same weights (zero encoder bias) instead of the ReLU one.
    /// `timesIndex`: also the whole-process index both ways (child processes).
    public static func run(_ shape: Shape, meanL0: Double, topK: Int? = nil, rounds: Int, timesIndex: Bool = true, scratchDirectory: String,
                           child: TimedChild = .saescope, log: (String) -> Void) throws -> Result {
        log("synthetic dictionary D=\(shape.d) F=\(shape.f), cache N=\(shape.n)")
        var sae = try SyntheticWorkload.dictionary(inputDimension: shape.d, featureCount: shape.f, meanL0: meanL0)
        if let topK {
            sae = try SparseAutoencoder(inputDimension: sae.inputDimension, featureCount: sae.featureCount, encoderWeights: sae.encoderWeights,
                                        encoderBias: [Float](repeating: 0, count: sae.featureCount), decoderWeights: sae.decoderWeights,
                                        decoderBias: sae.decoderBias, rule: .topK(topK), subtractsDecoderBias: true,
                                        provenance: DictionaryProvenance(library: "synthetic", kind: "topk", weightsPath: "synthetic", configPath: nil))
        }
        var rng = SplitMix64(seed: 2)
        let tokens = (0..<shape.n * shape.d).map { _ in rng.nextNormal() }
        let chunk = SAEEncoder.suggestedChunkRows(featureCount: shape.f)
        let savedExact = SAEEncoder.exactFP32
        defer { SAEEncoder.exactFP32 = savedExact }
        SAEEncoder.exactFP32 = false
        let screened = SAEEncoder(sae: sae, maxRows: chunk)
        SAEEncoder.exactFP32 = true
        let fp32 = SAEEncoder(sae: sae, maxRows: chunk)
        SAEEncoder.exactFP32 = savedExact

        let conversionStarted = DispatchTime.now().uptimeNanoseconds
        _ = ScreenedWeights(sae: sae, start: ScreenPrecision.best(for: sae.rule))
        let weightConversionSeconds = Double(DispatchTime.now().uptimeNanoseconds - conversionStarted) / 1e9

        func encodeAll(_ encoder: SAEEncoder) -> (seconds: Double, cpu: Double, nonzeros: Int) {
            var nonzeros = 0
            let started = DispatchTime.now().uptimeNanoseconds, cpuStarted = TimedChild.ownCPUSeconds()
            tokens.withUnsafeBufferPointer { tokens in
                var start = 0
                while start < shape.n {
                    let rows = min(chunk, shape.n - start)
                    encoder.run(tokens.baseAddress! + start * shape.d, rows: rows, reconstruct: false)
                    nonzeros += encoder.activeFeature.count
                    start += rows
                }
            }
            return (Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9, TimedChild.ownCPUSeconds() - cpuStarted, nonzeros)
        }

        let sgemmShape = SGEMMShape(d: shape.d, f: shape.f, n: shape.n, chunk: chunk)
        var sgemmSeconds = Double.infinity, screenedSeconds = Double.infinity, fp32Seconds = Double.infinity
        var sgemmCPU = Double.infinity, screenedCPU = Double.infinity, fp32CPU = Double.infinity
        var screenedNonzeros = 0, fp32Nonzeros = 0
        _ = encodeAll(screened)  // untimed: first touches of the buffers
        var statistics = ScreenedEncodeStatistics()
        for round in 1...max(1, rounds) {
            log("encode D=\(shape.d) F=\(shape.f), round \(round)/\(rounds)")
            let sgemm = SGEMMTiming.bestSeconds(sgemmShape, repetitions: 1)
            sgemmSeconds = min(sgemmSeconds, sgemm.wall)
            sgemmCPU = min(sgemmCPU, sgemm.cpu)
            let before = screened.screenedStatistics
            let s = encodeAll(screened)
            if round == 1 {
                statistics = screened.screenedStatistics.since(before)
            }
            let e = encodeAll(fp32)
            screenedSeconds = min(screenedSeconds, s.seconds)
            fp32Seconds = min(fp32Seconds, e.seconds)
            screenedCPU = min(screenedCPU, s.cpu)
            fp32CPU = min(fp32CPU, e.cpu)
            screenedNonzeros = s.nonzeros
            fp32Nonzeros = e.nonzeros
        }

        let families = ShapeBenchmark.referenceFamilies(on: .current)
        let kernels = try KernelBenchmark.run(SGEMMShape(d: shape.d, f: shape.f, n: min(shape.n, 8192), chunk: chunk),
                                              families: families, rounds: 1, repetitions: 2, child: child, log: log)

        let saeFolder = (scratchDirectory as NSString).appendingPathComponent("sae-\(shape.d)x\(shape.f)")
        let cachePath = (scratchDirectory as NSString).appendingPathComponent("cache-\(shape.d)x\(shape.n).safetensors")
        let indexPath = (scratchDirectory as NSString).appendingPathComponent("index.safetensors")
        var indexSeconds = Double.infinity, indexFP32Seconds = Double.infinity
        var indexCPU = Double.infinity, indexFP32CPU = Double.infinity
        let kernelShape = SGEMMShape(d: shape.d, f: shape.f, n: min(shape.n, 8192), chunk: chunk)
        let bestCPU = kernels.best.cpuSeconds * SGEMMShape(d: shape.d, f: shape.f, n: shape.n).flops / kernelShape.flops
        let result = { Result(shape: shape, path: screened.path, sgemmSeconds: sgemmSeconds,
                              bestSGEMMSeconds: SGEMMShape(d: shape.d, f: shape.f, n: shape.n).flops / kernels.best.gflops / 1e9,
                              bestFamily: kernels.best.label, screenedEncodeSeconds: screenedSeconds, fp32EncodeSeconds: fp32Seconds,
                              sgemmCPUSeconds: sgemmCPU, bestSGEMMCPUSeconds: bestCPU, screenedEncodeCPUSeconds: screenedCPU,
                              fp32EncodeCPUSeconds: fp32CPU, indexCPUSeconds: indexCPU, indexFP32CPUSeconds: indexFP32CPU,
                              weightConversionSeconds: weightConversionSeconds,
                              statistics: statistics, indexSeconds: indexSeconds, indexFP32Seconds: indexFP32Seconds,
                              screenedNonzeros: screenedNonzeros, fp32Nonzeros: fp32Nonzeros) }
        guard timesIndex else { return result() }
        try SyntheticWorkload.writeSAELensFolder(sae, to: saeFolder)
        try SyntheticWorkload.writeCache(rows: shape.n, dimension: shape.d, to: cachePath)
        defer {
            try? FileManager.default.removeItem(atPath: saeFolder)
            try? FileManager.default.removeItem(atPath: cachePath)
            try? FileManager.default.removeItem(atPath: indexPath)
        }
        let arguments = ["index", "--sae", saeFolder, "--acts", cachePath, "--out", indexPath, "--force", "--no-weight-cosines"]
        for round in 1...max(1, rounds) {
            log("index D=\(shape.d) F=\(shape.f) N=\(shape.n), round \(round)/\(rounds)")
            let screenedRun = try child.runChecked(arguments), fp32Run = try child.runChecked(arguments + ["--exact-fp32"])
            indexSeconds = min(indexSeconds, screenedRun.seconds)
            indexFP32Seconds = min(indexFP32Seconds, fp32Run.seconds)
            indexCPU = min(indexCPU, screenedRun.cpuSeconds)
            indexFP32CPU = min(indexFP32CPU, fp32Run.cpuSeconds)
        }
        return result()
    }
}
