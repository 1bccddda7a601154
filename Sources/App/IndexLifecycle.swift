import Foundation
import SAECore
import Widgets

/// The browser's index from first build to re-index: an index per settings (the launch file,
/// or a variant named by its settings, so `r` never replaces the default index), a saved file
/// for the asked settings loaded instead of rebuilt, and a re-index that ends in failure or is
/// cancelled puts the last complete index back rather than leaving a partial one on screen.
extension AppController {
    /// The file an index with `options` is kept in.
    func indexFile(for options: FeatureIndexOptions) -> String {
        options.sameSettings(as: launchIndexOptions) ? session.indexPath : session.variantIndexPath(for: options)
    }

    /// Shows the index for `options`: the saved file when there is a usable one (after a
    /// re-index request), else built in the background (cancelling a running build).
    func startIndexing(options: FeatureIndexOptions, reason: String) {
        guard let cache = session.cache else {
            // An index of a latent cache is rebuilt from it, outside the browser.
            setMessage(model.index?.provenance.isFromLatentCodes == true
                       ? "this index was built from a latent cache: re-index it with saescope index --codes DIR"
                       : "no activation cache to index (open with --acts)", isError: true)
            return
        }
        let path = indexFile(for: options)
        // The complete index on screen is what a cancelled or failed rebuild returns to.
        if let index = model.index, model.partial == nil, model.indexBeforeRebuild == nil {
            model.indexBeforeRebuild = (index, model.indexPath)
        }
        if model.index != nil, let saved = session.savedIndex(at: path, options: options) {
            if let running = model.indexJob { jobs.cancel(running) }
            model.indexJob = nil
            model.indexBeforeRebuild = nil
            model.indexOptions = saved.options
            model.indexPath = path
            install(index: saved, partial: nil)
            setMessage("index for \(Self.settingsText(saved.options)) read from \(path) (built before)", isError: false)
            return
        }
        model.indexOptions = options
        model.indexJob = jobs.start(kind: "index", title: IndexJob.title(session, cache: cache, options: options),
                                    work: IndexJob.work(session: session, cache: cache, options: options, steps: progressiveSteps, path: path))
        model.jobs = jobs.snapshot
        setMessage("indexing in the background (\(reason)); J shows jobs", isError: false)
    }

    /// The running build is done: its index replaces the one on screen.
    func indexBuilt(_ result: BuiltIndex) {
        model.indexJob = nil
        model.indexBeforeRebuild = nil
        model.indexPath = result.writeError == nil ? result.path : nil
        install(index: result.index, partial: nil)
        if let error = result.writeError {
            setMessage("index built but not saved: \(error)", isError: true)
        } else {
            setMessage("index complete: \(NumberFormat.count(result.index.tokenCount)) tokens, saved to \(result.path)", isError: false)
        }
    }

    /// The running build was cancelled (`failure` nil) or failed: the complete index from before
    /// it comes back, with its settings. A first build has none; its partial index stays, marked.
    func indexBuildEnded(failure: String?) {
        model.indexJob = nil
        guard let before = model.indexBeforeRebuild else {
            if failure == nil {
                setMessage("indexing cancelled" + (model.partial != nil ? "; the partial index stays on screen (PARTIAL)" : ""), isError: false)
            }
            return
        }
        model.indexBeforeRebuild = nil
        model.indexOptions = before.index.options
        model.indexPath = before.path
        install(index: before.index, partial: nil)
        restoreComparedIndex()
        let what = failure.map { "re-index failed (\($0))" } ?? "re-index cancelled"
        setMessage("\(what): back to the complete index (\(Self.settingsText(before.index.options)))", isError: failure != nil)
    }

    /// `x` on the jobs screen: cancels the selected job, or the only running one; with several
    /// running and a finished one selected, asks which (cancelling some other job than the one
    /// meant, B's index instead of A's re-index, would lose work without a word).
    func cancelSelectedJob() {
        let running = model.jobs.filter { $0.state == .running }
        let selected = model.jobs.indices.contains(model.jobsTable.selected) ? model.jobs[model.jobsTable.selected] : nil
        let job: JobCenter.Status
        if let selected, selected.state == .running {
            job = selected
        } else if running.count == 1 {
            job = running[0]
        } else {
            setMessage(running.isEmpty ? "no job is running" : "\(running.count) jobs are running: select one (j/k), then x", isError: false)
            return
        }
        jobs.cancel(job.id)
        setMessage("cancelling \(job.title)", isError: false)
    }

    /// "default settings", or the settings that differ from them.
    static func settingsText(_ options: FeatureIndexOptions) -> String {
        let words = options.settingsWords
        return words.isEmpty ? "default settings" : words.joined(separator: " ")
    }
}
