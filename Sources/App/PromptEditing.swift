import TUI

/// Editing the one-line prompt (`:` commands, `/` search, the export question): keys change the
/// text at the cursor until Enter submits it (`submit`, in PromptAndSearch.swift) or Esc drops
/// it; Up and Down recall the lines submitted earlier at the same kind of prompt.
extension AppController {
    /// How many lines each prompt's history keeps.
    static let promptHistoryLimit = 100

    func editPrompt(_ key: Key) {
        guard var prompt = model.prompt else { return }
        if case .confirmQuit = prompt.kind { answerQuitQuestion(key); return }
        switch key {
        case .escape, .ctrl("c"), .ctrl("g"):
            model.prompt = nil
            return
        case .enter:
            model.prompt = nil
            remember(prompt)
            submit(prompt)
            return
        case .backspace:
            if prompt.text.isEmpty { model.prompt = nil; return }
            prompt.deleteBackward()
        case .delete, .ctrl("d"): prompt.deleteForward()
        case .left, .ctrl("b"): prompt.moveCursor(by: -1)
        case .right, .ctrl("f"): prompt.moveCursor(by: 1)
        case .home, .ctrl("a"): prompt.moveCursorToStart()
        case .end, .ctrl("e"): prompt.moveCursorToEnd()
        case .ctrl("u"): prompt.deleteToStart()
        case .ctrl("k"): prompt.deleteToEnd()
        case .ctrl("w"): prompt.deleteWordBackward()
        case .up, .down:
            if let history = prompt.historyKey { prompt.recall(key == .up ? -1 : 1, from: model.promptHistory[history] ?? []) }
        case .char(let c): prompt.insert(c)
        default: break
        }
        model.prompt = prompt
    }

    /// Adds a submitted line to its prompt's history (not twice in a row, not when empty).
    private func remember(_ prompt: Prompt) {
        guard let key = prompt.historyKey else { return }
        let line = prompt.text.trimmingCharacters(in: .whitespaces)
        guard !line.isEmpty else { return }
        var lines = model.promptHistory[key] ?? []
        if lines.last != line { lines.append(line) }
        model.promptHistory[key] = Array(lines.suffix(Self.promptHistoryLimit))
    }
}
