import SAECore
import Widgets

/// The background work that builds a session's index in shards (posting each merge as a
/// `PartialIndex`) and saves it, returning a `BuiltIndex`: the browser's own index job and a
/// comparison's second index both run it.
enum IndexJob {
    static func title(_ session: DictionarySession, cache: ActivationCache, options: FeatureIndexOptions) -> String {
        "index \(session.name) over \(NumberFormat.count(FeatureIndexBuilder.rowRange(cache: cache, options: options).count)) tokens"
    }

    static func work(session: DictionarySession, cache: ActivationCache, options: FeatureIndexOptions,
                     steps: Int, path: String) -> @Sendable (JobCenter.Context) throws -> Any {
        { context in
            let index = try ProgressiveIndexer.build(
                sae: session.sae, saePath: session.saePath, cache: cache, options: options, steps: steps,
                progress: { done, total in
                    context.progress(total > 0 ? Double(done) / Double(total) : nil,
                                     "\(NumberFormat.count(done)) / \(NumberFormat.count(total)) tokens")
                },
                partial: { index, done, of in context.partial(PartialIndex(index: index, done: done, of: of)) },
                isCancelled: { context.isCancelled })
            if context.isCancelled { throw SaescopeError("cancelled") }
            var writeError: String?
            do {
                try IndexLocation.prepareDirectory(for: path)
                try IndexFile.write(index, to: path)
            } catch {
                writeError = String(describing: error)
            }
            return BuiltIndex(index: index, path: path, writeError: writeError)
        }
    }
}
