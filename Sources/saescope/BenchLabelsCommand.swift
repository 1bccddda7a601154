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
        guard let samples = SampleLocation.find() else { throw SaescopeError("the bundled samples/ folder was not found") }
        let sae = (samples as NSString).appendingPathComponent("dictionaries/dictionary_learning/trainer_0")
        let acts = (samples as NSString).appendingPathComponent("activations/minilm_l3_pride_and_prejudice.safetensors")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-bench-labels-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let indexPath = scratch.appendingPathComponent("sample.index.safetensors").path
        FileHandle.standardError.write(Data("indexing the sample once\n".utf8))
        let (first, _) = try DictionarySession.open(sae: sae, acts: acts, index: indexPath, tokenizer: nil)
        try IndexFile.write(try FeatureIndexBuilder.build(sae: first.sae, saePath: sae, cache: first.cache!, options: FeatureIndexOptions()), to: indexPath)
        guard let fingerprint = ContentFingerprint.of(file: first.sae.provenance.weightsPath) else { throw SaescopeError("cannot read", file: sae) }

        let empty = scratch.appendingPathComponent("empty.sqlite").path, full = scratch.appendingPathComponent("full.sqlite").path
        _ = try LabelStore(path: empty, fingerprint: fingerprint)
        let store = try LabelStore(path: full, fingerprint: fingerprint)
        let statuses = LabelStatus.allCases
        try store.apply((0..<labels).map { j in
            (j, LabelStore.Edit(label: "feature \(j): a label of some length", notes: j % 10 == 0 ? "a note\nof two lines" : nil,
                                status: statuses[j % statuses.count], tags: ["tag\(j % 7)", "group\(j % 13)"]), "bench", 1_700_000_000)
        })
        _ = try store.addExplanations((0..<labels).map { ($0, FeatureExplanation(source: "neuronpedia", model: "m", text: "explanation of \($0)", score: 0.5)) })

        /// One launch as OpenCommand does it, up to the first frame; milliseconds.
        func open(_ database: String) throws -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            let (session, state) = try DictionarySession.open(sae: sae, acts: acts, index: indexPath, tokenizer: nil)
            let controller = AppController(session: session, indexState: state, jobs: JobCenter())
            controller.attachLabels({ try LabelStore(path: database, fingerprint: fingerprint) }, marksFile: nil)
            _ = controller.frame(width: 200, height: 60)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            precondition(controller.model.labels.features.count == (database == full ? labels : 0))
            return elapsed
        }
        var none: [Double] = [], many: [Double] = []
        _ = try open(empty); _ = try open(full)  // warm the page cache
        for _ in 0..<repeats {
            none.append(try open(empty))
            many.append(try open(full))
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        print(String(format: "open to first frame, no labels          median %.1f ms  min %.1f ms", median(none), none.min()!))
        print(String(format: "open to first frame, %d labelled  median %.1f ms  min %.1f ms", labels, median(many), many.min()!))
        print(String(format: "difference of medians %.1f ms", median(many) - median(none)))
    }
}
