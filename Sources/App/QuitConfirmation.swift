import Foundation
import TUI

/// Quitting never loses work without a word: with features marked or an export still writing,
/// `q` (or Ctrl-C, or `:q`) asks first. Signals (SIGTERM, SIGHUP) cannot ask and quit at once.
extension AppController {
    /// Quits now, or asks first when something is at stake.
    func requestQuit() {
        let reasons = quitReasons()
        guard !reasons.isEmpty else { model.quit = true; return }
        model.prompt = Prompt(kind: .confirmQuit("quit with \(reasons.joined(separator: " and "))? (y/n) "), text: "")
    }

    /// What quitting now would end or leave behind, in words.
    func quitReasons() -> [String] {
        var reasons: [String] = []
        if !model.marks.isEmpty {
            let kept = labelStore != nil && model.labelsReadOnly == nil ? " (kept for the next launch)" : " (they are not saved)"
            reasons.append("\(model.marks.count) marked feature\(model.marks.count == 1 ? "" : "s")\(kept)")
        }
        let exports = jobs.snapshot.filter { $0.kind == "export" && $0.state == .running }
        if !exports.isEmpty {
            reasons.append(exports.count == 1 ? "an export still writing (it is cancelled)" : "\(exports.count) exports still writing (they are cancelled)")
        }
        return reasons
    }

    /// y (or Ctrl-C again) quits; n, Esc or Enter stay.
    func answerQuitQuestion(_ key: Key) {
        switch key {
        case .char("y"), .char("Y"), .ctrl("c"):
            model.prompt = nil
            model.quit = true
        case .char("n"), .char("N"), .escape, .enter, .ctrl("g"):
            model.prompt = nil
            setMessage("not quitting", isError: false)
        default:
            break
        }
    }
}
