import CBLAS
import Foundation

/// The encoder's matrix multiply alone: `[rows, D] x [D, F]` over `n` tokens in chunks of
/// `chunk` rows, as the index and eval passes issue it, with no conversion or bookkeeping.
public struct SGEMMShape: Sendable, Equatable {
    public var d: Int
    public var f: Int
    public var n: Int
    public var chunk: Int

    public init(d: Int, f: Int, n: Int, chunk: Int? = nil) {
        self.d = d
        self.f = f
        self.n = n
        self.chunk = chunk ?? SAEEncoder.suggestedChunkRows(featureCount: f)
    }

    /// 2 N D F: the multiply-adds of encoding every token.
    public var flops: Double { 2 * Double(n) * Double(d) * Double(f) }
}

public enum SGEMMTiming {
    /// Multiplies `input` (`[n, D]`) by `weights` (`[D, F]`) chunk by chunk into `output` (`[chunk, F]`).
    static func multiplyChunks(_ shape: SGEMMShape, input: UnsafePointer<Float>, weights: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        var start = 0
        while start < shape.n {
            let rows = min(shape.chunk, shape.n - start)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(shape.f), Int32(shape.d),
                        1, input + start * shape.d, Int32(shape.d), weights, Int32(shape.f), 0, output, Int32(shape.f))
            start += rows
        }
    }

    /// The fastest of `repetitions` timed passes over random data (after one untimed pass, which
    /// also starts the BLAS threads): its wall and CPU seconds.
    public static func bestSeconds(_ shape: SGEMMShape, repetitions: Int) -> (wall: Double, cpu: Double) {
        var rng = SplitMix64(seed: 3)
        let input = (0..<shape.n * shape.d).map { _ in Float(rng.next() >> 40) / Float(1 << 24) - 0.5 }
        let weights = (0..<shape.d * shape.f).map { _ in Float(rng.next() >> 40) / Float(1 << 24) - 0.5 }
        var output = [Float](repeating: 0, count: shape.chunk * shape.f)
        var best = Double.infinity, bestCPU = Double.infinity
        input.withUnsafeBufferPointer { input in
            weights.withUnsafeBufferPointer { weights in
                output.withUnsafeMutableBufferPointer { output in
                    for pass in 0...max(1, repetitions) {
                        let started = DispatchTime.now().uptimeNanoseconds, cpuStarted = TimedChild.ownCPUSeconds()
                        multiplyChunks(shape, input: input.baseAddress!, weights: weights.baseAddress!, output: output.baseAddress!)
                        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                        if pass > 0 {
                            best = min(best, seconds)
                            bestCPU = min(bestCPU, TimedChild.ownCPUSeconds() - cpuStarted)
                        }
                    }
                }
            }
        }
        return (best, bestCPU)
    }
}
