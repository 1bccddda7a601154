/// Labels in the Markdown report: the label in the feature's heading, then an
/// `### Interpretation` section with status, tags, notes and explanations.
enum LabelMarkdown {
    static func heading(_ record: FeatureRecord) -> String {
        guard let label = record.label?.label, !label.isEmpty else { return "## Feature \(record.feature)" }
        return "## Feature \(record.feature): \(label)"
    }

    static func section(_ label: FeatureLabel?) -> [String] {
        guard let label else { return [] }
        var lines = ["### Interpretation", "", "- status: \(label.status.rawValue)"]
        if !label.tags.isEmpty { lines.append("- tags: " + label.tags.map { "`\($0)`" }.joined(separator: " ")) }
        if !label.author.isEmpty { lines.append("- labelled by \(label.author)") }
        lines.append("")
        if !label.notes.isEmpty { lines += label.notes.split(separator: "\n", omittingEmptySubsequences: false).map { "> " + $0 } + [""] }
        if !label.explanations.isEmpty {
            lines.append("Explanations:")
            lines.append("")
            for e in label.explanations {
                let by = [e.source, e.model].filter { !$0.isEmpty }.joined(separator: ", ")
                lines.append("- \(e.text) (\(by)\(e.score.map { ", score \($0)" } ?? ""))")
            }
            lines.append("")
        }
        lines.append("### Exemplars")
        lines.append("")
        return lines
    }
}
