import Foundation
import SAECore

extension IndexCommand {
    /// `index --codes DIR [--sae S]`: the index of a delphi latent cache's codes, no encoding.
    func runFromCodes(_ codes: String, options: FeatureIndexOptions) throws {
        let cache = try DelphiLatentCache(path: codes)
        let dictionary = try sae.map { try DictionaryLoader.load(path: $0) }
        let output = out ?? IndexLocation.defaultPath(sae: sae ?? codes, acts: codes)
        // As for an index of activations: the default file is saescope's own; inputs never replaced.
        try OutputFile.checkWritable(output, overwrite: force || out == nil, inputs: [codes] + [sae].compactMap { $0 })
        try IndexLocation.prepareDirectory(for: output)
        InterruptCleanup.install()
        let progress = ProgressLine(label: "index")
        let started = Date()
        let index = try FeatureIndexBuilder.build(codes: cache, sae: dictionary, saePath: sae, options: options) { done, total in
            progress.update(done: done, total: total)
        }
        progress.finish()
        try IndexFile.write(index, to: output)
        printSummary(index, output: output, seconds: Date().timeIntervalSince(started))
    }
}
