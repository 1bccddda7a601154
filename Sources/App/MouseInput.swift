import TUI

/// Clicks and the wheel: select and open rows, open neighbours, scroll.
extension AppController {
    func handleMouse(_ event: MouseEvent) {
        switch event.kind {
        case .wheelUp: perform(.up); perform(.up); perform(.up)
        case .wheelDown: perform(.down); perform(.down); perform(.down)
        case .press(button: 1):
            if model.screen == .features, layout.listBody.contains(x: event.x, y: event.y) {
                let row = model.list.table.offset + (event.y - layout.listBody.y)
                // A click selects; a click on the selected row opens it.
                if row < model.list.rows.count {
                    if row == model.list.table.selected { perform(.open) } else { model.list.table.selected = row }
                }
            } else if model.screen == .detail, let n = layout.neighbourRows.firstIndex(of: event.y),
                      layout.neighbourColumn.contains(x: event.x, y: event.y) {
                perform(.neighbour(n + 1))
            }
        default:
            break
        }
    }
}
