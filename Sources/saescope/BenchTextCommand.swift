import App
import ArgumentParser
import Foundation
import SAECore
import TUI

/// The text screen's latency on the bundled sample with the model it came from (SmolLM2): from
/// Enter to the frame that shows the features, in-process (the interface's own controller, job
/// and drawing), next to the model process's own request for the same tokens in the same run,
/// so the ratio says what saescope adds to the model's time. One model process serves both, in
/// turns. The terminal's output (ncurses writing the cells) is not included.
struct BenchTextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "The text screen's Enter-to-frame latency on the sample with its model, against the model's own request.")

    @Option(help: "Timed runs of each (medians are printed).") var runs = 10
    @Option(help: "The text scored.")
    var text = "Mr. Darcy walked into the ballroom at Netherfield, and every young lady turned to see whether he would ask Elizabeth to dance."
    @Option(help: "Frame width.") var width = 120
    @Option(help: "Frame height.") var height = 30

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--text must not be empty") }
    }

    func run() throws {
        let sample = try BenchSample(name: "bench-text")
        defer { sample.remove() }
        let session = sample.session
        guard let cache = session.cache, let model = cache.metadata["model"], !model.isEmpty else {
            throw SaescopeError("the sample's cache names no model", file: sample.acts)
        }
        let site = try CacheModelLoss.site(layer: nil, hook: nil, cache: cache)
        FileHandle.standardError.write(Data("loading \(model) (the first load can take a minute)\n".utf8))
        let bridge = try ModelBridge(model: model, layer: site.layer, hook: site.hook, timeout: 600,
                                     prependBOS: PrependBOS.mode(forCache: cache.metadata), environment: try ModelEnvironment.locate())
        defer { bridge.close() }
        let engine = BridgeEngine(bridge: bridge, name: model)

        // Jobs wake the main thread through a pipe it blocks on, as the UI loop blocks in
        // nextEvents on the terminal and its wake pipe (how the waiting thread waits changes the
        // model's speed on a busy machine: see the spinning baseline below).
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SaescopeError("cannot create a pipe") }
        let (readFD, writeFD) = (fds[0], fds[1])
        _ = fcntl(readFD, F_SETFL, fcntl(readFD, F_GETFL) | O_NONBLOCK)
        defer { close(readFD); close(writeFD) }
        let jobs = JobCenter(wake: { var byte: UInt8 = 1; _ = write(writeFD, &byte, 1) })
        let controller = AppController(session: session, indexState: .loaded(try IndexFile.read(path: sample.indexPath)), jobs: jobs)
        // CE over the first 2 tokens only and no unembedding: the attach's own jobs end at once.
        var request = ModelRequest(model: model, layer: site.layer, hook: site.hook)
        request.maxTokens = 2
        request.unembeddingFromModel = false
        controller.attachModel(request, connect: { _, _ in engine })
        // Until no job runs: a job's result can start another (the model's load starts CE), and the
        // bench's own requests below must not overlap a job's on the one model process.
        func settle() {
            var scratch = [UInt8](repeating: 0, count: 64)
            while true {
                controller.handleJobEvents()
                if !jobs.hasRunningJobs { return }
                var pfd = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, 250)
                while read(readFD, &scratch, scratch.count) > 0 {}
            }
        }
        settle()
        controller.handle(.char("i"))
        for c in text { controller.handle(c == "\n" ? .enter : .char(c), moreFollow: true) }

        // Warm-up: the first forward pass allocates.
        let prefix = bridge.prefixTokenIDs
        _ = try bridge.activations([prefix + bridge.tokenize(text)], keep: false)

        var modelTimes: [Double] = [], spinningTimes: [Double] = [], scanTimes: [Double] = [], screenTimes: [Double] = []
        var tokens = 0, features = 0
        // The three in turns, their order rotated every run: on a shared machine the model's speed
        // drifts, and the request right after another (torch's threads still awake) is faster.
        let measurements: [() throws -> Void] = [
            {
                // The model process alone: tokenize, then the activations at the hook, the
                // calling thread blocked on the reply (as `saescope text` and every job wait).
                let start = DispatchTime.now().uptimeNanoseconds
                let ids = try bridge.tokenize(text)
                _ = try bridge.activations([prefix + ids], keep: false)
                modelTimes.append(Self.milliseconds(since: start))
                tokens = ids.count
            },
            {
                // The same requests from another thread while this one spins (sleeps of 0.2 ms):
                // on a loaded machine the model answers several times faster then.
                let start = DispatchTime.now().uptimeNanoseconds
                let box = SpinningRequest(bridge: bridge, text: text, prefix: prefix)
                Thread { box.run() }.start()
                while !box.isDone { usleep(200) }
                spinningTimes.append(Self.milliseconds(since: start))
            },
            {
                // The core the screen and `saescope text` share: the same requests, then the encoder.
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try TextFeatureScan(text: text, model: bridge, sae: session.sae)
                scanTimes.append(Self.milliseconds(since: start))
            },
            {
                // The screen: Enter in the field, the job, its result handed over, the frame drawn.
                if controller.model.text.focus != .field { controller.handle(.char("i")) }
                let start = DispatchTime.now().uptimeNanoseconds
                controller.handle(.enter)
                settle()
                var buffer = Buffer(width: width, height: height)
                controller.render(into: &buffer)
                screenTimes.append(Self.milliseconds(since: start))
                guard let result = controller.model.text.result, controller.model.text.job == nil else {
                    throw SaescopeError("the text screen showed no result: \(controller.model.message?.text ?? "no message")")
                }
                features = result.summaries.count
            },
        ]
        for run in 0..<runs {
            for k in 0..<measurements.count { try measurements[(run + k) % measurements.count]() }
        }
        let model_ = Self.median(modelTimes), scan = Self.median(scanTimes), screen = Self.median(screenTimes)
        print("text screen on the sample: \(tokens) tokens, \(features) features active, \(Self.shortName(model)) at \(bridge.info.site), \(runs) runs (medians, ms)")
        print("  model process alone (tokenize + activations)   " + String(format: "%8.1f", model_))
        print("  the same, the caller spinning              " + String(format: "%8.1f", Self.median(spinningTimes)) + String(format: "   %.2fx the model", Self.median(spinningTimes) / model_))
        print("  TextFeatureScan (the same + encoding)          " + String(format: "%8.1f", scan) + String(format: "   %.2fx the model", scan / model_))
        print("  Enter to frame with features (the screen)      " + String(format: "%8.1f", screen) + String(format: "   %.2fx the model", screen / model_))
        print("  all runs, spinning: " + spinningTimes.map { String(format: "%.0f", $0) }.joined(separator: " "))
        print("  all runs, model: " + modelTimes.map { String(format: "%.0f", $0) }.joined(separator: " "))
        print("  all runs, screen: " + screenTimes.map { String(format: "%.0f", $0) }.joined(separator: " "))
    }

    private static func milliseconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    private static func shortName(_ model: String) -> String { (model as NSString).lastPathComponent }
}

/// One tokenize-and-activations exchange run on another thread (the spinning baseline).
private final class SpinningRequest: @unchecked Sendable {
    private let bridge: ModelBridge
    private let text: String
    private let prefix: [Int32]
    private let lock = NSLock()
    private var done = false

    init(bridge: ModelBridge, text: String, prefix: [Int32]) {
        self.bridge = bridge
        self.text = text
        self.prefix = prefix
    }

    var isDone: Bool { lock.withLock { done } }

    func run() {
        // A failure shows in the other measurements, which throw.
        if let ids = try? bridge.tokenize(text) { _ = try? bridge.activations([prefix + ids], keep: false) }
        lock.withLock { done = true }
    }
}
