import SAECore
import TUI
import Widgets

/// Draws a whole frame: title bar, the current screen, the status or prompt line, the hint bar,
/// and the help overlay. Below the minimum size, one "enlarge the terminal" notice.
extension AppController {
    public static let minimumSize = MinimumSize(width: 60, height: 16)

    public func render(into buffer: inout Buffer) {
        buffer.clear()
        guard buffer.bounds.fits(Self.minimumSize) else {
            EnlargeNotice(minimum: Self.minimumSize).draw(into: &buffer, rect: buffer.bounds)
            return
        }
        let (top, rest) = buffer.bounds.splitTop(1)
        let (body, bottom) = rest.splitBottom(2)
        drawTitleBar(into: &buffer, rect: top)
        switch model.screen {
        case .features: drawFeatures(into: &buffer, rect: body)
        case .detail: drawDetail(into: &buffer, rect: body)
        case .overview: drawOverview(into: &buffer, rect: body)
        case .jobs: drawJobs(into: &buffer, rect: body)
        case .probes: drawProbes(into: &buffer, rect: body)
        case .compare: drawCompare(into: &buffer, rect: body)
        case .sequence: drawSequence(into: &buffer, rect: body)
        case .text: drawTextScreen(into: &buffer, rect: body)
        }
        drawStatusLine(into: &buffer, rect: bottom.row(0))
        // While the text screen's field has the focus, its own keys (the rest are typed).
        let keymap = model.screen == .text && model.text.focus == .field ? Keymaps.textField : Keymaps.keymap(for: model.screen)
        keymap.hintBar(width: bottom.width, glyphs: buffer.glyphs).draw(into: &buffer, rect: bottom.row(1))
        if let editor = model.notesEditor { drawNotesEditor(editor, into: &buffer, rect: body) }
        if model.showHelp { drawHelp(into: &buffer, rect: body) }
    }

    /// A new buffer of the given size with this session's glyphs, rendered.
    public func frame(width: Int, height: Int, glyphs: Glyphs = .unicode, monochrome: Bool = false) -> Buffer {
        var buffer = Buffer(width: width, height: height, glyphs: glyphs, monochrome: monochrome)
        render(into: &buffer)
        return buffer
    }

    private func drawTitleBar(into buffer: inout Buffer, rect: Rect) {
        let bar = Style(.title, bg: .selection, [.bold])
        buffer.fill(rect, style: bar)
        let sae = session.sae
        var title = " saescope  \(session.name) \(buffer.glyphs.separator) \(sae.provenance.kind) F=\(NumberFormat.count(sae.featureCount)) \(sae.shapeSummary)"
        if let index = model.index {
            // While shards merge, the tokens so far out of the build's: "2400 tokens" alone read as the whole index.
            let of = model.partial == nil ? "" : session.cache.map { " of " + NumberFormat.count(FeatureIndexBuilder.rowRange(cache: $0, options: model.indexOptions).count) } ?? ""
            title += " \(buffer.glyphs.separator) \(NumberFormat.count(index.tokenCount))\(of) tokens"
        }
        if let partial = model.partial { title += " \(buffer.glyphs.separator) PARTIAL \(partial.done)/\(partial.of)" }
        // Settings other than the defaults, on every screen: the figures below depend on them.
        let settings = (model.index?.options ?? model.indexOptions).settingsWords
        if !settings.isEmpty { title += " \(buffer.glyphs.separator) " + settings.joined(separator: " ") }
        _ = buffer.put(title, at: Point(x: rect.x, y: rect.y), style: bar, clip: rect)
        // Tabs on the right; the running jobs' progress before them.
        var right = ""
        for screen in Screen.allCases where screen.isTab {
            right += screen == model.screen || (screen == .features && !model.screen.isTab) ? "[\(screen.rawValue)] " : " \(screen.rawValue)  "
        }
        if let job = model.jobs.last(where: { $0.state == .running }) {
            let percent = job.fraction.map { " \(Int(($0 * 100).rounded()))%" } ?? ""
            right = "\(job.kind)\(percent) \(buffer.glyphs.separator) " + right
        }
        let width = Text.width(right)
        if width + Text.width(title) + 2 <= rect.width {
            _ = buffer.put(right, at: Point(x: rect.maxX - width, y: rect.y), style: Style(.accent, bg: .selection, [.bold]), clip: rect)
        }
    }

    private func drawStatusLine(into buffer: inout Buffer, rect: Rect) {
        if let prompt = model.prompt {
            let (before, under, after) = prompt.cursorSplit
            let cursorCell = under.isEmpty ? " " : under
            // What precedes the cursor is cut from the left, so the cursor always shows.
            let shown = Text.truncateLeading(prompt.leader + before, columns: max(1, rect.width - Text.width(cursorCell)),
                                             ellipsis: buffer.glyphs.ellipsis)
            var x = buffer.put(shown, at: Point(x: rect.x, y: rect.y), style: .fg(.text), clip: rect)
            // A block cursor: the terminal's own cursor stays hidden.
            x = buffer.put(cursorCell, at: Point(x: x, y: rect.y), style: Style(.text, [.reverse]), clip: rect)
            _ = buffer.put(after, at: Point(x: x, y: rect.y), style: .fg(.text), clip: rect)
            return
        }
        if let message = model.message {
            _ = buffer.put(Text.truncate(message.text, columns: rect.width, ellipsis: buffer.glyphs.ellipsis),
                           at: Point(x: rect.x, y: rect.y), style: message.isError ? Style(.error, [.bold]) : .fg(.warning), clip: rect)
            return
        }
        var parts: [String] = []
        if model.screen == .features || model.screen == .detail {
            parts.append("\(NumberFormat.count(model.list.rows.count)) listed")
            parts.append("filter: \(model.list.filter.summary)")
            parts.append("sort: \(model.list.sort.rawValue) \(model.list.ascending ? "asc" : "desc")")
            if !model.marks.isEmpty { parts.append("\(model.marks.count) marked") }
            if let query = model.list.searchQuery { parts.append("/\(query): \(model.list.searchHits.count) hits") }
        }
        if model.index == nil { parts.append("indexing\(buffer.glyphs.ellipsis) features appear as the first shard completes") }
        _ = buffer.put(Text.truncate(parts.joined(separator: " \(buffer.glyphs.separator) "), columns: rect.width, ellipsis: buffer.glyphs.ellipsis),
                       at: Point(x: rect.x, y: rect.y), style: .fg(.dimText), clip: rect)
    }

    private func drawHelp(into buffer: inout Buffer, rect: Rect) {
        let keymap = Keymaps.keymap(for: model.screen)
        var lines = ["Keys on the \(model.screen.rawValue) screen (j/k/PgDn scroll, any other key closes)", ""]
        lines += keymap.helpLines(glyphs: buffer.glyphs)
        if model.screen == .features || model.screen == .detail { lines += [""] + Self.searchHelp }
        lines += ["", "Command line"] + Self.commandHelp
        lines += ["", "Mouse: click selects (click again opens), the wheel scrolls."]
        let width = min(rect.width - 4, max(60, lines.map { Text.width($0) }.max() ?? 40) + 4)
        let height = min(rect.height - 2, lines.count + 2)
        let box = rect.centered(width: width, height: height)
        buffer.fill(box, style: .bg(.background))
        let inner = Panel(title: "Help", info: "? / Esc", focused: true).draw(into: &buffer, rect: box)
        let scroll = min(model.helpScroll, max(0, lines.count - inner.height))
        model.helpScroll = scroll
        TextView(lines: lines, style: .fg(.text), offset: scroll).draw(into: &buffer, rect: inner)
    }
}
