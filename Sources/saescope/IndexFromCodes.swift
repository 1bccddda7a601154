import Foundation
import SAECore

extension IndexCommand {
    /// `index --codes DIR [--sae S]`: the index of a delphi latent cache's codes, no encoding.
    func runFromCodes(_ codes: String, options: FeatureIndexOptions) throws {
        let cache = try DelphiLatentCache(path: codes)
        let dictionary = try sae.map { try DictionaryLoader.load(path: $0) }
        // As for an index of activations: settings other than the defaults get a file named by
        // them; the default file is saescope's own to replace; inputs are never replaced.
        let output = out ?? IndexLocation.path(sae: sae ?? codes, acts: codes, options: options)
        try OutputFile.checkWritable(output, overwrite: force || out == nil, inputs: [codes] + [sae].compactMap { $0 })
        try buildAndWrite(to: output, source: codes) { progress in
            try FeatureIndexBuilder.build(codes: cache, sae: dictionary, saePath: sae, options: options, progress: progress)
        }
    }
}
