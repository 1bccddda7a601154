import TUI

/// Editing the one-line prompt (`:` commands, `/` search, the export question): keys change the
/// text until Enter submits it (`submit`, in PromptAndSearch.swift) or Esc drops it.
extension AppController {
    func editPrompt(_ key: Key) {
        guard var prompt = model.prompt else { return }
        switch key {
        case .escape, .ctrl("c"), .ctrl("g"):
            model.prompt = nil
        case .enter:
            model.prompt = nil
            submit(prompt)
        case .backspace:
            if prompt.text.isEmpty { model.prompt = nil } else { prompt.text.removeLast(); model.prompt = prompt }
        case .ctrl("u"):
            prompt.text = ""
            model.prompt = prompt
        case .char(let c):
            prompt.text.append(c)
            model.prompt = prompt
        default:
            break
        }
    }
}
