import Foundation

/// A readable Markdown section per feature: figures, a text histogram, exemplars with the
/// activating token in bold.
enum MarkdownReport {
    static func feature(_ record: FeatureRecord) -> String {
        var lines = [LabelMarkdown.heading(record), ""] + LabelMarkdown.section(record.label)
        lines.append(String(format: "density %.3g (%d tokens) · max %.4g · mean %.4g", record.density, record.count,
                            Double(record.maxActivation), record.meanActivation))
        lines.append("")
        if record.count > 0 {
            lines.append("```")
            let peak = max(record.histogramCounts.max() ?? 1, 1)
            let lastBin = record.histogramCounts.lastIndex { $0 > 0 } ?? 0
            let width = record.histogramCenters.count > 1 ? record.histogramCenters[1] - record.histogramCenters[0] : 0
            for bin in 0...lastBin {
                let bar = String(repeating: "#", count: Int((Double(record.histogramCounts[bin]) / Double(peak) * 40).rounded(.up)))
                lines.append(String(format: "%8.3f-%8.3f %6d ", Double(record.histogramCenters[bin] - width / 2),
                                    Double(record.histogramCenters[bin] + width / 2), record.histogramCounts[bin]) + bar)
            }
            lines.append("```")
            lines.append("")
            lines.append("| activation | context |")
            lines.append("|---:|---|")
            for exemplar in record.top {
                lines.append(String(format: "| %.4g | ", Double(exemplar.activation)) + context(exemplar.tokens, bold: exemplar.qualifyingTokenIndex) + " |")
            }
        } else {
            lines.append("_This feature never fired on the indexed tokens._")
        }
        if !record.positiveLogits.isEmpty || !record.negativeLogits.isEmpty {
            lines.append("")
            lines.append("Logit effects (W_dec[f] · W_U):")
            lines.append("")
            lines.append("| promoted | logit | suppressed | logit |")
            lines.append("|---|---:|---|---:|")
            for rank in 0..<max(record.positiveLogits.count, record.negativeLogits.count) {
                func cells(_ logits: [ExportedLogit]) -> String {
                    guard rank < logits.count else { return " | " }
                    return "'\(escape(logits[rank].text))' | " + String(format: "%+.4g", Double(logits[rank].value))
                }
                lines.append("| " + cells(record.positiveLogits) + " | " + cells(record.negativeLogits) + " |")
            }
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    /// The tokens as one table cell, the one at `bold` strong. The emphasis wraps the token's
    /// text without its surrounding whitespace (`on **miss** bingley`, not `on** miss** bingley`,
    /// which CommonMark shows literally); a whitespace-only token shows as a bold `␣` (`↵` for a
    /// newline). Where
    /// CommonMark's flanking rules would not read `**` as emphasis (a token starting or ending
    /// with punctuation inside a word), the token is wrapped in `<strong>` instead.
    static func context(_ tokens: [String], bold: Int) -> String {
        guard tokens.indices.contains(bold) else { return tokens.map(escape).joined() }
        let before = tokens[..<bold].map(escape).joined(), after = tokens[(bold + 1)...].map(escape).joined()
        let token = tokens[bold]
        let core = token.trimmingCharacters(in: .whitespacesAndNewlines)
        // A whitespace-only token shows as one bold mark in its place.
        let leading = core.isEmpty ? "" : String(token.prefix { $0.isWhitespace })
        let trailing = core.isEmpty ? "" : String(token.reversed().prefix { $0.isWhitespace }.reversed())
        let shown = core.isEmpty ? (token.contains { $0.isNewline } ? "↵" : "␣") : escape(core)
        let previous = (before + escape(leading)).last, next = (escape(trailing) + after).first
        let strong = opensEmphasis(previous: previous, first: shown.first!) && closesEmphasis(last: shown.last!, next: next)
            ? "**\(shown)**" : "<strong>\(shown)</strong>"
        return before + escape(leading) + strong + escape(trailing) + after
    }

    private static func isPunctuation(_ c: Character) -> Bool { c.isPunctuation || c.isSymbol }

    /// CommonMark: `**` opens when left-flanking: not followed by whitespace, and not followed by
    /// punctuation unless preceded by whitespace, punctuation or nothing.
    static func opensEmphasis(previous: Character?, first: Character) -> Bool {
        guard !first.isWhitespace else { return false }
        guard isPunctuation(first) else { return true }
        return previous.map { $0.isWhitespace || isPunctuation($0) } ?? true
    }

    /// CommonMark: `**` closes when right-flanking (the mirror image).
    static func closesEmphasis(last: Character, next: Character?) -> Bool {
        guard !last.isWhitespace else { return false }
        guard isPunctuation(last) else { return true }
        return next.map { $0.isWhitespace || isPunctuation($0) } ?? true
    }

    /// Keeps a token literal inside a Markdown table cell: a backslash before every character
    /// CommonMark or a table would read as markup, newlines as `↵`.
    static func escape(_ token: String) -> String {
        var out = ""
        for c in token {
            if c == "\n" || c == "\r\n" || c == "\r" { out += "↵"; continue }
            if "\\`*_[]<>|~&!#".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
