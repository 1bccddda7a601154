import Foundation
import SAECore
import TUI

/// What the one-line prompt's text does once submitted (`:` commands, `/` search, the export
/// question) and search hits (n / N). Editing the line is in PromptEditing.swift.
extension AppController {
    func jumpToHit(forward: Bool) {
        let hits = model.list.searchHits
        guard !hits.isEmpty else {
            model.message = StatusMessage(text: model.list.searchQuery == nil ? "no search yet (/ searches)" : "no feature matches", isError: false)
            return
        }
        let current = model.list.table.selected
        let next = forward ? (hits.first { $0 > current } ?? hits[0]) : (hits.last { $0 < current } ?? hits[hits.count - 1])
        model.list.table.selected = next
        let n = hits.firstIndex(of: next)! + 1
        model.message = StatusMessage(text: "match \(n) of \(hits.count) for \"\(model.list.searchQuery ?? "")\"", isError: false)
        if model.screen == .detail { showFeature(model.list.rows[next]) }
    }

    func submit(_ prompt: Prompt) {
        let text = prompt.text.trimmingCharacters(in: .whitespaces)
        switch prompt.kind {
        case .search:
            commitSearch(text)
        case .command:
            runCommandLine(text)
        case .export:
            submitExport(text)
        case .confirmQuit:
            break  // answered key by key (QuitConfirmation.swift)
        case .text:
            break  // the text screen's field sends its own text (TextScreen.swift)
        case .label, .tags:
            submitLabelPrompt(prompt.kind, text: text)
        }
    }

    func startExport(format: FeatureExporter.Format, path: String, overwrite: Bool) {
        guard let index = model.index, model.partial == nil else {
            model.message = StatusMessage(text: "wait for the index to complete before exporting", isError: true)
            return
        }
        // Checked here so the message names this interface's own word (the job's error names the CLI's --force).
        if !overwrite, FileManager.default.fileExists(atPath: path) {
            model.message = StatusMessage(text: "\(path) exists already: add force to replace it (Up recalls the line)", isError: true)
            return
        }
        model.lastExportDirectory = (path as NSString).deletingLastPathComponent
        let ids = model.marks.sorted()
        let context = FeatureExporter.Context(index: index, sae: session.sae, saePath: session.saePath,
                                              tokenizer: session.tokenizer, includeDecoder: format == .json,
                                              unembedding: format == .safetensors ? nil : session.unembedding, labels: model.labels)
        let contextBox = UncheckedBox(context)
        jobs.start(kind: "export", title: "export \(ids.count) features to \(path)") { job in
            job.progress(nil, "writing \(path)")
            try FeatureExporter.export(ids, format: format, context: contextBox.value, to: path, overwrite: overwrite)
            return "exported \(ids.count) features to \(path) (\(format.rawValue))"
        }
        model.jobs = jobs.snapshot
    }
}
