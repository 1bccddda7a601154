import App
import Foundation
import SAECore

/// The bundled sample indexed once into a scratch folder, for the interface benchmarks.
struct BenchSample {
    let sae: String
    let acts: String
    let scratch: URL
    let indexPath: String
    /// The session the index was built with.
    let session: DictionarySession

    /// Indexes the sample (default settings) into a new scratch folder; `remove()` deletes it.
    init(name: String) throws {
        guard let samples = SampleLocation.find() else { throw SaescopeError("the bundled samples/ folder was not found") }
        sae = (samples as NSString).appendingPathComponent("dictionaries/dictionary_learning/trainer_0")
        acts = (samples as NSString).appendingPathComponent(SampleLocation.activations)
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-\(name)-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        indexPath = scratch.appendingPathComponent("sample.index.safetensors").path
        FileHandle.standardError.write(Data("indexing the sample once (release build: a few seconds)\n".utf8))
        (session, _) = try DictionarySession.open(sae: sae, acts: acts, index: indexPath, tokenizer: nil)
        try IndexFile.write(try FeatureIndexBuilder.build(sae: session.sae, saePath: sae, cache: session.cache!, options: FeatureIndexOptions()), to: indexPath)
    }

    func remove() { try? FileManager.default.removeItem(at: scratch) }
}
