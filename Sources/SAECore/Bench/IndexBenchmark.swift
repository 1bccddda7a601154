import CBLAS
import Foundation

/// Times the whole index pass against a plain `cblas_sgemm` of the same shapes in the same
/// process, so a noisy machine still gives a stable ratio.
public enum IndexBenchmark {
    public struct Result: Sendable {
        public var tokens: Int
        public var sgemmSeconds: Double
        public var indexSeconds: Double
        public var writeSeconds: Double
        public var openSeconds: Double
        public var meanL0: Double
        public var peakHeapBytes: Int
        public var peakResidentBytes: Int
        public var flops: Double
        /// CPU seconds (all threads) of the plain sgemm and of the index pass.
        public var sgemmCPUSeconds: Double
        public var indexCPUSeconds: Double

        /// Index throughput as a fraction of plain sgemm throughput.
        public var ratio: Double { sgemmSeconds / indexSeconds }
        public var tokensPerSecond: Double { Double(tokens) / indexSeconds }
        public var encodeGflops: Double { flops / indexSeconds / 1e9 }
        public var sgemmGflops: Double { flops / sgemmSeconds / 1e9 }
        /// `ratio` in CPU time: steadier when other programs load the machine.
        public var cpuRatio: Double { sgemmCPUSeconds / indexCPUSeconds }
    }

    /// `scratchDirectory` receives the synthetic cache (memory-mapped, so it does not count as
    /// the pass's memory) and the index.
    public static func run(d: Int, f: Int, n: Int, meanL0: Double, chunkRows: Int? = nil, scratchDirectory: String, log: (String) -> Void) throws -> Result {
        log("building a synthetic dictionary (D=\(d), F=\(f)) and cache (N=\(n))")
        let sae = try SyntheticWorkload.dictionary(inputDimension: d, featureCount: f, meanL0: meanL0)
        let cachePath = (scratchDirectory as NSString).appendingPathComponent("cache.safetensors")
        let indexPath = (scratchDirectory as NSString).appendingPathComponent("index.safetensors")
        try SyntheticWorkload.writeCache(rows: n, dimension: d, to: cachePath)
        let cache = try ActivationCache(path: cachePath)
        let chunk = chunkRows ?? SAEEncoder.suggestedChunkRows(featureCount: f)

        log("plain sgemm, \(chunk)-row chunks")
        var cpuStarted = TimedChild.ownCPUSeconds()
        let sgemmSeconds = time { plainSGEMM(sae: sae, cache: cache, chunk: chunk) }
        let sgemmCPUSeconds = TimedChild.ownCPUSeconds() - cpuStarted

        log("index pass")
        var peakHeap = heapBytes()
        let options = FeatureIndexOptions()
        var index: FeatureIndex?
        cpuStarted = TimedChild.ownCPUSeconds()
        let indexSeconds = try timeThrowing {
            index = try FeatureIndexBuilder.build(sae: sae, saePath: "synthetic", cache: cache, options: options, chunkRows: chunk) { _, _ in
                peakHeap = max(peakHeap, heapBytes())
            }
        }
        let indexCPUSeconds = TimedChild.ownCPUSeconds() - cpuStarted
        let built = index!
        let writeSeconds = try timeThrowing { try IndexFile.write(built, to: indexPath) }
        let openSeconds = try timeThrowing { _ = try IndexFile.read(path: indexPath) }
        return Result(tokens: n, sgemmSeconds: sgemmSeconds, indexSeconds: indexSeconds, writeSeconds: writeSeconds,
                      openSeconds: openSeconds, meanL0: built.metrics.result().l0, peakHeapBytes: peakHeap,
                      peakResidentBytes: peakResident(), flops: 2 * Double(n) * Double(d) * Double(f),
                      sgemmCPUSeconds: sgemmCPUSeconds, indexCPUSeconds: indexCPUSeconds)
    }

    /// The encoder matmul alone: the same chunks, the same shapes, no conversion or bookkeeping.
    static func plainSGEMM(sae: SparseAutoencoder, cache: ActivationCache, chunk: Int) {
        let source = cache.shards[0].acts
        var output = [Float](repeating: 0, count: chunk * sae.featureCount)
        let input = source.buffer.base.advanced(by: source.byteOffset).assumingMemoryBound(to: Float.self)
        let shape = SGEMMShape(d: sae.inputDimension, f: sae.featureCount, n: cache.rowCount, chunk: chunk)
        sae.encoderWeights.withUnsafeBufferPointer { weights in
            output.withUnsafeMutableBufferPointer { out in
                SGEMMTiming.multiplyChunks(shape, input: input, weights: weights.baseAddress!, output: out.baseAddress!)
            }
        }
    }

    private static func time(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private static func timeThrowing(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Resident anonymous memory (Linux `RssAnon`): what the process allocated, without the
    /// memory-mapped cache file's pages.
    public static func heapBytes() -> Int { statusField("RssAnon:") }

    /// The process's peak resident set size (`VmHWM`), mapped files included.
    public static func peakResident() -> Int { statusField("VmHWM:") }

    private static func statusField(_ name: String) -> Int {
        guard let text = ProcFile.read("/proc/self/status"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return 0 }
        let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kilobytes * 1024
    }
}
