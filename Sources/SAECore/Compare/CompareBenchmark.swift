import CBLAS
import Foundation

/// Times `compare`'s decoder matching on two random dictionaries against a plain `cblas_sgemm`
/// of the same blocks (the product alone, no top lists), in the same process.
public enum CompareBenchmark {
    public struct Result: Sendable {
        public var featureCountA: Int
        public var featureCountB: Int
        public var dimension: Int
        /// The same F_A x F_B x D product through the same blocks, with nothing else done.
        public var sgemmSeconds: Double
        /// Normalisation + blocked product + both directions' top lists.
        public var matchingSeconds: Double
        public var assignmentSeconds: Double
        /// The random baseline: A matched and assigned again against a random dictionary of B's shape.
        public var baselineSeconds: Double
        public var assignment: FeatureAssignment
        public var meanBestCosineAToB: Double
        public var peakHeapBytes: Int
        /// Process CPU time (user + system, all threads) of the sgemm run and of the matching +
        /// assignment: less sensitive than wall time to other load on the machine.
        public var sgemmCPUSeconds: Double
        public var compareCPUSeconds: Double
        public var flops: Double { 2 * Double(featureCountA) * Double(featureCountB) * Double(dimension) }
        public var totalSeconds: Double { matchingSeconds + assignmentSeconds + baselineSeconds }
    }

    public static func run(d: Int, featureCountA: Int, featureCountB: Int, options: CompareOptions = CompareOptions(),
                           skipSGEMM: Bool = false, log: (String) -> Void) throws -> Result {
        log("building two random dictionaries (D=\(d), F=\(featureCountA) and \(featureCountB))")
        let a = try SyntheticWorkload.dictionary(inputDimension: d, featureCount: featureCountA, meanL0: 50, seed: 11)
        let b = try SyntheticWorkload.dictionary(inputDimension: d, featureCount: featureCountB, meanL0: 50, seed: 12)
        var sgemmSeconds = 0.0, sgemmCPU = 0.0
        if !skipSGEMM {
            log("plain sgemm over the same blocks")
            let before = cpuSeconds()
            sgemmSeconds = plainSGEMM(a.decoderWeights, featureCountA, b.decoderWeights, featureCountB, d,
                                      rowBlock: options.rowBlock, columnBlock: options.columnBlock)
            sgemmCPU = cpuSeconds() - before
        }
        log("compare: matching and assignment")
        var peak = IndexBenchmark.heapBytes()
        let sampler = HeapSampler()
        sampler.start()
        let before = cpuSeconds()
        let comparison = try DictionaryComparison.compute(a, pathA: "synthetic-a", b, pathB: "synthetic-b", options: options)
        let compareCPU = cpuSeconds() - before
        peak = max(peak, sampler.stop())
        return Result(featureCountA: featureCountA, featureCountB: featureCountB, dimension: d, sgemmSeconds: sgemmSeconds,
                      matchingSeconds: comparison.matchingSeconds, assignmentSeconds: comparison.assignmentSeconds,
                      baselineSeconds: comparison.baseline?.seconds ?? 0,
                      assignment: comparison.assignment, meanBestCosineAToB: comparison.summaryAToB.meanBestCosine, peakHeapBytes: peak,
                      sgemmCPUSeconds: sgemmCPU, compareCPUSeconds: compareCPU)
    }

    /// User + system CPU seconds of the whole process so far.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &usage)  // Glibc's RUSAGE_SELF is imported as an enum case
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    static func plainSGEMM(_ a: [Float], _ countA: Int, _ b: [Float], _ countB: Int, _ d: Int, rowBlock: Int, columnBlock: Int) -> Double {
        let rowsPerBlock = min(rowBlock, countA), columnsPerBlock = min(columnBlock, countB)
        var scores = [Float](repeating: 0, count: rowsPerBlock * columnsPerBlock)
        let start = DispatchTime.now().uptimeNanoseconds
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                scores.withUnsafeMutableBufferPointer { s in
                    for rowStart in stride(from: 0, to: countA, by: rowsPerBlock) {
                        let rows = min(rowsPerBlock, countA - rowStart)
                        for columnStart in stride(from: 0, to: countB, by: columnsPerBlock) {
                            let columns = min(columnsPerBlock, countB - columnStart)
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(columns), Int32(d),
                                        1, a.baseAddress! + rowStart * d, Int32(d), b.baseAddress! + columnStart * d, Int32(d),
                                        0, s.baseAddress!, Int32(columns))
                        }
                    }
                }
            }
        }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}

/// Samples the process's anonymous resident memory every 20 ms on a background thread.
final class HeapSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0
    private var running = false
    private var thread: Thread?

    func start() {
        lock.withLock { running = true; peak = IndexBenchmark.heapBytes() }
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                let now = IndexBenchmark.heapBytes()
                lock.withLock { peak = max(peak, now) }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        self.thread = thread
        thread.start()
    }

    func stop() -> Int {
        lock.withLock { running = false; peak = max(peak, IndexBenchmark.heapBytes()); return peak }
    }
}
