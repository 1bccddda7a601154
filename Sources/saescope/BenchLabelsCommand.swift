import App
import ArgumentParser
import Foundation
import SAECore
import TUI

/// What labels cost at launch: the interface opened on the bundled sample (dictionary, cache,
/// saved index, controller, labels database, first frame) with an empty labels database and
/// with one holding `--labels` labelled features, alternately, timed in-process.
struct BenchLabelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labels",
        abstract: "Time to open the interface on the sample with no labels and with many labelled features.")

    @Option(help: "Labelled features in the full database (each with a label, two tags, a status and an explanation).") var labels = 32768
    @Option(help: "Opens of each kind, alternating.") var repeats = 15

    func run() throws {
        let sample = try BenchSample(name: "bench-labels")
        defer { sample.remove() }
        let (sae, acts, indexPath, scratch) = (sample.sae, sample.acts, sample.indexPath, sample.scratch)
        guard let fingerprint = ContentFingerprint.of(file: sample.session.sae.provenance.weightsPath) else { throw SaescopeError("cannot read", file: sae) }

        let empty = scratch.appendingPathComponent("empty.sqlite").path, full = scratch.appendingPathComponent("full.sqlite").path
        _ = try LabelStore(path: empty, fingerprint: fingerprint)
        let store = try LabelStore(path: full, fingerprint: fingerprint)
        let statuses = LabelStatus.allCases
        try store.apply((0..<labels).map { j in
            (j, LabelStore.Edit(label: "feature \(j): a label of some length", notes: j % 10 == 0 ? "a note\nof two lines" : nil,
                                status: statuses[j % statuses.count], tags: ["tag\(j % 7)", "group\(j % 13)"]), "bench", 1_700_000_000)
        })
        _ = try store.addExplanations((0..<labels).map { ($0, FeatureExplanation(source: "neuronpedia", model: "m", text: "explanation of \($0)", score: 0.5)) })

        /// One launch as OpenCommand does it: milliseconds to the first frame, and until the
        /// background read of the labels has been taken in.
        func open(_ database: String) throws -> (frame: Double, labels: Double) {
            let start = DispatchTime.now().uptimeNanoseconds
            func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
            let (session, state) = try DictionarySession.open(sae: sae, acts: acts, index: indexPath, tokenizer: nil)
            let jobs = JobCenter()
            let controller = AppController(session: session, indexState: state, jobs: jobs)
            controller.attachLabels({ try LabelStore(path: database, fingerprint: fingerprint) }, marksFile: nil)
            _ = controller.frame(width: 200, height: 60)
            let frame = elapsed()
            _ = jobs.waitUntilIdle(timeout: 60)
            controller.handleJobEvents()
            _ = controller.frame(width: 200, height: 60)
            precondition(controller.model.labels.features.count == (database == full ? labels : 0))
            return (frame, elapsed())
        }
        var none: [(frame: Double, labels: Double)] = [], many: [(frame: Double, labels: Double)] = []
        _ = try open(empty); _ = try open(full)  // warm the page cache
        for _ in 0..<repeats {
            none.append(try open(empty))
            many.append(try open(full))
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let rows: [(String, [Double])] = [("first frame, no labels", none.map(\.frame)), ("first frame, \(labels) labelled", many.map(\.frame)),
                                          ("labels shown, no labels", none.map(\.labels)), ("labels shown, \(labels) labelled", many.map(\.labels))]
        for (name, values) in rows {
            print(name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "median %7.1f ms  min %7.1f ms", median(values), values.min()!))
        }
        print(String(format: "first frame: difference of medians %.1f ms, of minima %.1f ms",
                     median(many.map(\.frame)) - median(none.map(\.frame)), many.map(\.frame).min()! - none.map(\.frame).min()!))
    }
}
