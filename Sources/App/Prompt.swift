/// A one-line input at the bottom: `:` commands, `/` search, the export question, and the
/// question before quitting. The text is edited at a cursor (a position in characters), as a
/// shell's line editor does.
public struct Prompt: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case command, search, export
        /// "Really quit?", with the reasons to ask; answered with y or n.
        case confirmQuit(String)
        /// A feature's label, or its tags (LabelEditing.swift).
        case label(Int), tags(Int)
        /// The text screen's field (TextScreen.swift): drawn there, not on the status line.
        case text
    }

    /// Which history a prompt's lines go to.
    public enum HistoryKey: Hashable, Sendable { case command, search, export, text }

    public var kind: Kind
    public private(set) var text: String
    /// Characters before the cursor, 0...text.count.
    public private(set) var cursor: Int
    /// The history entry shown (nil: the line being typed) and that line, kept while browsing.
    var historyPosition: Int?
    var draft = ""

    /// A prompt holding `text`, the cursor at its end.
    public init(kind: Kind, text: String) {
        self.kind = kind
        self.text = text
        cursor = text.count
    }

    public var leader: String {
        switch kind {
        case .command: return ":"
        case .search: return "/"
        case .export: return "export (json|jsonl|csv|md|safetensors) PATH [force]: "
        case .confirmQuit(let question): return question
        case .label(let j): return "label of \(j): "
        case .tags(let j): return "tags of \(j) (words): "
        case .text: return ""
        }
    }

    /// Where submitted lines are remembered; nil for the quit question.
    public var historyKey: HistoryKey? {
        switch kind {
        case .command: return .command
        case .search: return .search
        case .export: return .export
        case .text: return .text
        case .confirmQuit, .label, .tags: return nil
        }
    }

    /// The text split at the cursor: what is before it, the character under it ("" at the end), what follows.
    public var cursorSplit: (before: String, under: String, after: String) {
        let at = text.index(text.startIndex, offsetBy: cursor)
        guard at < text.endIndex else { return (text, "", "") }
        return (String(text[..<at]), String(text[at]), String(text[text.index(after: at)...]))
    }

    // MARK: Editing

    public mutating func insert(_ c: Character) {
        text.insert(c, at: text.index(text.startIndex, offsetBy: cursor))
        cursor += 1
    }

    /// Backspace: the character before the cursor.
    public mutating func deleteBackward() {
        guard cursor > 0 else { return }
        cursor -= 1
        text.remove(at: text.index(text.startIndex, offsetBy: cursor))
    }

    /// Delete: the character under the cursor.
    public mutating func deleteForward() {
        guard cursor < text.count else { return }
        text.remove(at: text.index(text.startIndex, offsetBy: cursor))
    }

    /// Ctrl-U: everything before the cursor.
    public mutating func deleteToStart() {
        text.removeFirst(cursor)
        cursor = 0
    }

    /// Ctrl-K: everything from the cursor on.
    public mutating func deleteToEnd() {
        text.removeLast(text.count - cursor)
    }

    /// Ctrl-W: the word before the cursor (and the spaces after it).
    public mutating func deleteWordBackward() {
        let before = Array(text.prefix(cursor))
        var start = before.count
        while start > 0, before[start - 1] == " " { start -= 1 }
        while start > 0, before[start - 1] != " " { start -= 1 }
        text.removeSubrange(text.index(text.startIndex, offsetBy: start)..<text.index(text.startIndex, offsetBy: cursor))
        cursor = start
    }

    public mutating func moveCursor(by delta: Int) { cursor = min(max(0, cursor + delta), text.count) }
    public mutating func moveCursorToStart() { cursor = 0 }
    public mutating func moveCursorToEnd() { cursor = text.count }

    /// Replaces the whole text (a history entry), the cursor at its end.
    public mutating func replaceText(_ new: String) {
        text = new
        cursor = new.count
    }

    /// Up (`-1`) and Down (`+1`) through `history` (oldest first); past the newest entry, the
    /// line that was being typed comes back.
    public mutating func recall(_ step: Int, from history: [String]) {
        guard !history.isEmpty else { return }
        let current = historyPosition ?? history.count
        let next = min(max(0, current + step), history.count)
        guard next != current else { return }
        if historyPosition == nil { draft = text }
        historyPosition = next == history.count ? nil : next
        replaceText(historyPosition.map { history[$0] } ?? draft)
    }
}
