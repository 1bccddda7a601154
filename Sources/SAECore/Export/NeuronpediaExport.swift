import Foundation

/// Writes the json export: one Neuronpedia batch file, or with a batch size a directory of
/// `batch-0.json ...` and `run_settings.json` as SAEDashboard's Neuronpedia runner leaves its
/// output directory. The directory is written beside the target under a `.partial-PID` name and
/// moved into place only when complete, so the target is never half written.
enum NeuronpediaExport {
    static func write(_ features: [Int], context: FeatureExporter.Context, logits: [Int: FeatureLogitEffects], to path: String,
                      overwrite: Bool) throws {
        let source = try context.neuronpedia ?? NeuronpediaSource.fromIndex(context.index, saePath: context.saePath)
        func batchBytes(_ ids: [Int]) throws -> [UInt8] {
            let objects = ids.map { j in
                NeuronpediaBatch.feature(context.record(j, logits: logits), decoderRow: Array(context.sae.decoderRow(j)),
                                         includeVector: context.includeDecoder, source: source)
            }
            do {
                return try TypedJSON.encode(NeuronpediaBatch.batch(objects, source: source))
            } catch {
                // Name the first feature JSON cannot hold (NaN or infinity somewhere in it).
                for (j, object) in zip(ids, objects) where (try? TypedJSON.encode(object)) == nil {
                    throw SaescopeError("feature \(j) holds NaN or infinity (in its statistics, decoder or logit effects), which JSON cannot represent", file: path)
                }
                throw error
            }
        }
        guard let batchSize = context.batchSize else {
            try AtomicFile.write(try batchBytes(features), to: path)
            return
        }
        guard batchSize >= 1 else { throw SaescopeError("the batch size must be at least 1") }
        let batches = NeuronpediaBatch.split(features, batchSize: batchSize)
        let manager = FileManager.default
        let partial = path + ".partial-\(getpid())"
        try? manager.removeItem(atPath: partial)
        do {
            try manager.createDirectory(atPath: partial, withIntermediateDirectories: false)
        } catch {
            throw SaescopeError("cannot create the output directory (\(error.localizedDescription))", file: path)
        }
        do {
            for (number, ids) in batches.enumerated() {
                try AtomicFile.write(try batchBytes(ids), to: partial + "/batch-\(number).json")
            }
            let settings = NeuronpediaBatch.runSettings(source: source, saePath: context.saePath, outputDirectory: path, batchSize: batchSize,
                                                        batches: batches.count, options: context.index.options,
                                                        metadata: context.index.provenance.cacheMetadata)
            try AtomicFile.write(try TypedJSON.encode(settings), to: partial + "/run_settings.json")
            try replace(path, with: partial)
        } catch {
            try? manager.removeItem(atPath: partial)
            throw error
        }
    }

    /// Moves `partial` to `path`; an existing `path` (allowed by --force) is moved aside first and
    /// removed once the new one is in place.
    private static func replace(_ path: String, with partial: String) throws {
        let manager = FileManager.default
        let aside = path + ".replaced-\(getpid())"
        let existed = manager.fileExists(atPath: path)
        if existed, rename(path, aside) != 0 {
            throw SaescopeError("cannot move the existing output aside: \(String(cString: strerror(errno)))", file: path)
        }
        guard rename(partial, path) == 0 else {
            let reason = String(cString: strerror(errno))
            if existed { rename(aside, path) }
            throw SaescopeError("cannot move into place: \(reason)", file: path)
        }
        if existed { try? manager.removeItem(atPath: aside) }
    }
}
