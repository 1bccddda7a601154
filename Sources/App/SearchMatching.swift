import SAECore
import TUI

/// `/` search as you type: every edit of the prompt re-runs the search over the decoded exemplar
/// text (`ExemplarSearchText`) and moves the cursor to the first hit in list order; no hit
/// leaves the cursor where the search began. Up / Down recall earlier searches. Enter keeps the
/// search (`commitSearch`), Esc puts back the cursor and the search from before.
extension AppController {
    /// The help overlay's lines on what `/` matches.
    static let searchHelp = [
        "Search",
        "  / matches the decoded text of each feature's top exemplars (words",
        "  whole across tokens, phrases, any case), and its label, notes, tags",
        "  and imported explanations, as you type; Up/Down recall",
        "  earlier searches, Enter keeps it (n/N: next/previous hit), Esc goes back.",
    ]

    func beginSearch() {
        model.list.searchInProgress = SearchInProgress(selected: model.list.table.selected, query: model.list.searchQuery)
        model.prompt = Prompt(kind: .search, text: "")
    }

    /// After the generic prompt editing handled a key: follow the text, or undo a cancelled search.
    func searchPromptEdited() {
        guard let origin = model.list.searchInProgress else { return }
        guard let prompt = model.prompt, prompt.kind == .search else {
            // Closed without Enter (Enter commits and clears `searchInProgress`).
            model.list.searchInProgress = nil
            model.list.searchQuery = origin.query
            refreshRows()
            model.list.table.selected = origin.selected
            return
        }
        showSearch(prompt.text, from: origin)
    }

    /// Enter in the search prompt.
    func commitSearch(_ text: String) {
        let origin = model.list.searchInProgress ?? SearchInProgress(selected: model.list.table.selected, query: model.list.searchQuery)
        model.list.searchInProgress = nil
        guard !text.isEmpty else {
            model.list.searchQuery = origin.query
            refreshRows()
            model.list.table.selected = origin.selected
            return
        }
        if model.screen != .features && model.screen != .detail { show(.features) }
        model.list.searchQuery = text
        refreshRows()
        if model.list.searchHits.isEmpty {
            model.list.table.selected = origin.selected
            model.message = StatusMessage(text: "no feature's top exemplars or labels contain \"\(text)\"", isError: false)
        } else {
            // The first hit in list order, as typing showed it.
            model.list.table.selected = -1
            jumpToHit(forward: true)
        }
    }

    /// The list as `text` finds it: hits marked, the cursor on the first hit (else back at `origin`).
    private func showSearch(_ text: String, from origin: SearchInProgress) {
        model.list.searchQuery = text.isEmpty ? nil : text
        if text.isEmpty { model.list.searchHits = [] }
        refreshRows()
        let hits = model.list.searchHits
        model.list.table.selected = hits.first ?? origin.selected
        model.message = text.isEmpty ? nil
            : StatusMessage(text: hits.isEmpty ? "no match" : "\(hits.count) features match", isError: false)
    }
}
