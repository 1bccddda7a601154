import SAECore
import TUI

/// The keys that interpret a feature: L edits its label (one line, at the prompt), E its notes
/// (a multi-line editor pane, see NotesEditor.swift), T its tags (the prompt, words), R steps
/// its status (unreviewed, interpretable, uninterpretable, dead). On the list they act on the
/// feature under the cursor, on the detail screen on the feature shown.
extension AppController {
    /// The feature the labelling keys act on.
    var labelledFeature: Int? { model.screen == .detail ? model.detail.feature : model.selectedFeature }

    func performLabel(_ command: LabelCommand) {
        guard let j = labelledFeature else { return }
        if let reason = model.labelsReadOnly {
            setMessage("labels are read-only: \(reason)", isError: true)
            return
        }
        let record = model.labels[j] ?? FeatureLabel()
        switch command {
        case .label: model.prompt = Prompt(kind: .label(j), text: record.label)
        case .tags: model.prompt = Prompt(kind: .tags(j), text: record.tags.joined(separator: " "))
        case .notes: model.notesEditor = NotesEditor(feature: j, text: record.notes)
        case .status:
            let next = record.status.next
            saveLabelEdit(LabelStore.Edit(status: next), feature: j)
            if model.labelsReadOnly == nil { setMessage("feature \(j): \(next.rawValue) (R again: \(next.next.rawValue))", isError: false) }
        }
    }

    /// Enter at the label or tags prompt.
    func submitLabelPrompt(_ kind: Prompt.Kind, text: String) {
        switch kind {
        case .label(let j):
            // One line: the prompt cannot hold a line break, pasted tabs become spaces.
            saveLabelEdit(LabelStore.Edit(label: text.replacingOccurrences(of: "\t", with: " ")), feature: j)
        case .tags(let j):
            saveLabelEdit(LabelStore.Edit(tags: FeatureLabel.tags(from: text)), feature: j)
        default:
            break
        }
    }

    /// A key while the notes editor is open: Esc or Ctrl-S saves and closes, Ctrl-G closes
    /// without saving, the rest edit.
    func editNotes(_ key: Key) {
        guard var editor = model.notesEditor else { return }
        switch key {
        case .escape, .ctrl("s"):
            model.notesEditor = nil
            let text = editor.text
            if text != (model.labels[editor.feature]?.notes ?? "") {
                saveLabelEdit(LabelStore.Edit(notes: text), feature: editor.feature)
                if model.labelsReadOnly == nil { setMessage("feature \(editor.feature): notes saved", isError: false) }
            }
            return
        case .ctrl("g"), .ctrl("c"):
            model.notesEditor = nil
            setMessage("notes of feature \(editor.feature) left as they were", isError: false)
            return
        default:
            editor.handle(key)
        }
        model.notesEditor = editor
    }
}

extension AppController {
    /// `:status X` and `:tag NAME`: list only features with that status or tag (`all` / no
    /// name: the filter off).
    func labelFilterCommand(_ head: String, _ arguments: [String]) throws {
        if head == "status" {
            guard let word = arguments.first, word == "all" || LabelStatus(rawValue: word) != nil else {
                throw CommandLineError("status takes \(LabelStatus.allCases.map(\.rawValue).joined(separator: ", ")) or all")
            }
            updateList { $0.filter.status = LabelStatus(rawValue: word) }
        } else {
            let tag = arguments.first.map { $0.hasPrefix("#") ? String($0.dropFirst()) : $0 }
            updateList { $0.filter.tag = tag }
        }
        setMessage("\(model.list.rows.count) features listed (filter: \(model.list.filter.summary))", isError: false)
    }

    /// `/`: features whose top exemplars' text, or whose label, notes, tags or explanations,
    /// contain `query` (any case), as positions in `rows`.
    func searchHits(_ query: String, in rows: [Int], index: FeatureIndex) -> [Int] {
        let exemplarHits = searchText.hits(query, in: rows, index: index, session: session)
        let needle = Array(query.lowercased().utf8)
        guard !model.labels.isEmpty, !needle.isEmpty else { return exemplarHits }
        var hits = Set(exemplarHits)
        for (position, j) in rows.enumerated() {
            if let text = model.labels.searchText[j], ExemplarSearchText.contains(text, needle) { hits.insert(position) }
        }
        return hits.sorted()
    }
}
