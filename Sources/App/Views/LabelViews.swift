import SAECore
import TUI
import Widgets

/// How labels show on the screens: a list column, the detail screen's lines, a suffix after a
/// feature's top token elsewhere (compare, probes, sequence), the notes editor pane, and the
/// overview's count. The screens call these; the labels themselves are in `model.labels`.
extension AppController {
    /// The lists' extra column, present once any feature has a label or explanation (so a
    /// dictionary nobody labelled looks as before); it shares the room left with the exemplars.
    func labelColumns() -> [Table.Column] {
        model.labels.isEmpty ? [] : [.init("label", width: .flex(weight: 1, min: 8))]
    }

    /// A one-line cell: the label, else the first imported explanation in brackets.
    func labelCell(_ j: Int, of book: LabelBook? = nil) -> String {
        guard let record = (book ?? model.labels)[j] else { return "" }
        if !record.label.isEmpty { return record.label }
        return record.explanations.first.map { "[\($0.text)]" } ?? (record.status == .unreviewed ? "" : record.status.rawValue)
    }

    /// `  "label"` after a top token, or "" without one.
    func labelSuffix(_ j: Int, of book: LabelBook? = nil) -> String {
        let cell = labelCell(j, of: book)
        return cell.isEmpty ? "" : "  \u{201C}\(cell)\u{201D}"
    }

    /// The detail screen's lines about feature `j`'s interpretation (none for a feature without
    /// any, so the statistics keep their room; the hint bar shows L).
    func labelLines(_ j: Int) -> [String] {
        guard let record = model.labels[j] else { return [] }
        var lines = ["label     " + (record.label.isEmpty ? "(none: L)" : record.label),
                     "status    \(record.status.rawValue)" + (record.tags.isEmpty ? "" : "  " + record.tagLine)]
        if !record.notes.isEmpty {
            let notes = record.notes.split(separator: "\n", omittingEmptySubsequences: false)
            lines.append("notes     " + notes[0] + (notes.count > 1 ? "  (+\(notes.count - 1) lines: E)" : ""))
        }
        for explanation in record.explanations.prefix(3) {
            let score = explanation.score.map { " " + NumberFormat.fixed($0, decimals: 2) } ?? ""
            lines.append("\(explanation.source)\(score): \(explanation.text)")
        }
        if record.explanations.count > 3 { lines.append("(+\(record.explanations.count - 3) more explanations)") }
        return lines
    }

    /// The overview's line: how many features were reviewed and labelled.
    func reviewedLine() -> String {
        let reviewed = model.labels.reviewedCount, labelled = model.labels.labelledCount
        var line = "\(NumberFormat.count(reviewed)) of \(NumberFormat.count(session.sae.featureCount)) reviewed, \(NumberFormat.count(labelled)) labelled"
        if model.labelsReadOnly != nil { line += " (labels read-only)" }
        return line
    }

    /// The notes editor over the lower part of the screen.
    func drawNotesEditor(_ editor: NotesEditor, into buffer: inout Buffer, rect: Rect) {
        let height = min(rect.height, max(6, rect.height / 2))
        let box = Rect(x: rect.x, y: rect.maxY - height, width: rect.width, height: height)
        buffer.fill(box, style: .bg(.background))
        let inner = Panel(title: "Notes on feature \(editor.feature)", info: "Esc/Ctrl-S saves · Ctrl-G drops", focused: true)
            .draw(into: &buffer, rect: box)
        guard inner.height > 0 else { return }
        let first = max(0, editor.line - inner.height + 1)
        for (row, characters) in editor.lines.enumerated().dropFirst(first).prefix(inner.height) {
            let y = inner.y + row - first
            let text = String(characters)
            var x = buffer.put(row == editor.line ? String(characters.prefix(editor.column)) : text,
                               at: Point(x: inner.x, y: y), style: .fg(.text), clip: inner)
            if row == editor.line {
                let under = editor.column < characters.count ? String(characters[editor.column]) : " "
                x = buffer.put(under, at: Point(x: x, y: y), style: Style(.text, [.reverse]), clip: inner)
                if editor.column + 1 < characters.count {
                    _ = buffer.put(String(characters[(editor.column + 1)...]), at: Point(x: x, y: y), style: .fg(.text), clip: inner)
                }
            }
        }
    }
}
