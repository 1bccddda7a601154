import App
import ArgumentParser
import Foundation
import SAECore
import TUI

/// The interface's two speed targets, measured in-process on the bundled sample: the cost of a
/// full frame of the detail screen, and key-to-frame latency while an index job keeps every
/// core busy. The terminal's own output (ncurses writing the changed cells) is not included.
struct BenchUICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "Frame rendering time and key-to-frame latency under a background index job, on the sample.")

    @Option(help: "Frame width.") var width = 200
    @Option(help: "Frame height.") var height = 60
    @Option(help: "Frames to render.") var frames = 500
    @Option(help: "Keys to send while indexing.") var keys = 400

    func run() throws {
        guard let samples = SampleLocation.find() else { throw SaescopeError("the bundled samples/ folder was not found") }
        let sae = (samples as NSString).appendingPathComponent("dictionaries/dictionary_learning/trainer_0")
        let acts = (samples as NSString).appendingPathComponent(SampleLocation.activations)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-bench-ui-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let indexPath = scratch.appendingPathComponent("sample.index.safetensors").path

        FileHandle.standardError.write(Data("indexing the sample once (release build: a few seconds)\n".utf8))
        let (session, _) = try DictionarySession.open(sae: sae, acts: acts, index: indexPath, tokenizer: nil)
        let index = try FeatureIndexBuilder.build(sae: session.sae, saePath: sae, cache: session.cache!, options: FeatureIndexOptions())
        try IndexFile.write(index, to: indexPath)
        let jobs = JobCenter()
        let controller = AppController(session: session, indexState: .loaded(try IndexFile.read(path: indexPath)), jobs: jobs)

        // 1. Full frames (render into a fresh buffer, diff with the last) of the features screen,
        //    moving down the list, then of the detail screen, stepping between features.
        var previous = Buffer(width: width, height: height)
        func frameTimes(_ keys: [Key]) -> [Double] {
            (0..<frames).map { i in
                controller.handle(keys[i % keys.count])
                let start = DispatchTime.now().uptimeNanoseconds
                var buffer = Buffer(width: width, height: height)
                controller.render(into: &buffer)
                _ = buffer.diff(from: previous)
                previous = buffer
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            }
        }
        let listTimes = frameTimes([.down])
        // A sort key with a search active: the list and its search hits are rebuilt.
        controller.runCommandLine("sort id")
        // Search as you type: each key re-runs the search over every listed feature; the first
        // key decodes every feature's exemplars (then cached).
        controller.handle(.char("/"))
        let keyTimes: [Double] = "the miss".map { c in
            let start = DispatchTime.now().uptimeNanoseconds
            controller.handle(.char(c))
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        controller.handle(.escape)
        controller.handle(.char("/"))
        for c in "the" { controller.handle(.char(c)) }
        controller.handle(.enter)
        let sortTimes: [Double] = (0..<40).map { i in
            let start = DispatchTime.now().uptimeNanoseconds
            controller.handle(.char(i % 2 == 0 ? "s" : "S"))
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        controller.handle(.char("g"))
        controller.handle(.enter)
        let renderTimes = frameTimes([.char("l"), .char("h")])

        // 2. Keys arrive on a pipe from another thread (as from the terminal) while a re-index
        //    job runs; the UI thread polls, handles the key, renders and diffs, as the loop does.
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SaescopeError("cannot create a pipe") }
        let (readFD, writeFD) = (fds[0], fds[1])
        let keyCount = keys
        let sender = Thread {
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<keyCount {
                usleep(UInt32.random(in: 5_000...25_000, using: &rng))
                var stamp = DispatchTime.now().uptimeNanoseconds
                _ = withUnsafeBytes(of: &stamp) { write(writeFD, $0.baseAddress, 8) }
            }
        }
        controller.handle(.char("q"))
        controller.runCommandLine("reindex top-k=21")
        sender.start()
        var latencies: [Double] = []
        var busyKeys = 0
        let keySequence: [Key] = [.down, .down, .enter, .char("l"), .char("q"), .char("j"), .pageDown, .char("k")]
        var pollSet = [pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)]
        while latencies.count < keys {
            _ = poll(&pollSet, 1, 1000)
            var stamp: UInt64 = 0
            guard withUnsafeMutableBytes(of: &stamp, { read(readFD, $0.baseAddress, 8) }) == 8 else { continue }
            if jobs.hasRunningJobs { busyKeys += 1 } else { controller.runCommandLine("reindex top-k=\(20 + latencies.count % 3)") }
            controller.handle(keySequence[latencies.count % keySequence.count])
            controller.handleJobEvents()
            var buffer = Buffer(width: width, height: height)
            controller.render(into: &buffer)
            _ = buffer.diff(from: previous)
            previous = buffer
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - stamp) / 1e6)
        }
        jobs.cancelAll()
        _ = jobs.waitUntilIdle(timeout: 30)
        close(readFD)
        close(writeFD)

        print("frame \(width)x\(height) of the sample (F=\(session.sae.featureCount)), \(frames) frames each")
        print(String(format: "features render+diff median %.3f ms  p99 %.3f ms  max %.3f ms", percentile(listTimes, 0.5), percentile(listTimes, 0.99), listTimes.max() ?? 0))
        print(String(format: "detail render + diff median %.3f ms  p99 %.3f ms  max %.3f ms", percentile(renderTimes, 0.5), percentile(renderTimes, 0.99), renderTimes.max() ?? 0))
        print(String(format: "search key as typed  first %.3f ms (decodes every feature)  then median %.3f ms  max %.3f ms",
                     keyTimes[0], percentile(Array(keyTimes.dropFirst()), 0.5), keyTimes.dropFirst().max() ?? 0))
        print(String(format: "sort key, search on  median %.3f ms  p99 %.3f ms  (list rebuilt, /the active)", percentile(sortTimes, 0.5), percentile(sortTimes, 0.99)))
        print("key to frame under a background index job (\(busyKeys) of \(keys) keys arrived while it ran, \(ProcessInfo.processInfo.activeProcessorCount) cores)")
        print(String(format: "latency              median %.3f ms  p99 %.3f ms  max %.3f ms", percentile(latencies, 0.5), percentile(latencies, 0.99), latencies.max() ?? 0))
    }

    private func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }
}
