import Foundation

/// Moving between screens. The top-level screens (features, overview, jobs, probes, compare) are
/// tabs, as the title bar shows them: switching tabs keeps no history, and `q` on a tab quits.
/// Drill-downs (a feature's detail, an exemplar's sequence, B at full size on the compare screen)
/// remember where they came from, and `q` or Esc goes back there. Help and prompts close on their
/// own keys first. Leaving a sequence puts back the detail screen it was opened from, as it was.
extension Screen {
    /// Whether the screen is a tab of the title bar (the detail and sequence screens are drill-downs).
    /// The text screen is one too: `i` opens it over any screen, `q` goes back there.
    public var isTab: Bool { self != .detail && self != .sequence && self != .text }
}

extension AppController {
    /// Switches to a tab (dropping any drill-down history), or drills down to `.detail` from here.
    func show(_ screen: Screen) {
        guard screen != model.screen else { return }
        if screen.isTab {
            model.previousScreens = []
            model.sequences = []
        } else {
            model.previousScreens.append(model.screen)
        }
        model.screen = screen
        if screen == .overview { ensureWeightMetrics() }
    }

    /// `q` (`quitOnTab`) and Esc: leave the innermost drill-down; on a tab `q` quits (asking
    /// first when something would be lost) and Esc only says how to quit.
    func goBack(quitOnTab: Bool) {
        if model.screen == .compare, model.comparison?.view.zoomed != nil, model.previousScreens.last != .sequence {
            model.comparison?.view.zoomed = nil
        } else if let previous = model.previousScreens.popLast() {
            if model.screen == .sequence { closeSequence() }
            model.screen = previous
        } else if quitOnTab {
            requestQuit()
        } else {
            setMessage("nothing to go back to on a tab: q quits, o J p F switch tabs", isError: false)
        }
    }

    /// Drills down into feature `j`'s detail screen; `q` returns to the screen it was opened from.
    func openFeature(_ j: Int) {
        model.detail.history = []
        showFeature(j)
        show(.detail)
    }
}
