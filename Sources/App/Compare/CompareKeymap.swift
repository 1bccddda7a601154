import TUI

extension Keymaps {
    /// The compare screen. B at full size is a drill-down: q and Esc (the global keys) close it.
    static let compare = Keymap<Command>([
        Binding([.tab, .backTab], "switch A / B pane", .compare(.switchFocus), label: "Tab", group: "Compare"),
        Binding([.enter, .char("l"), .right], "open (B: full size)", .compare(.open), label: "Enter", group: "Compare"),
        Binding([.char("s")], "order best/worst/unmatched/id", .compare(.cycleOrder), group: "Compare"),
        Binding([.char("c")], "restart a failed or cancelled job", .compare(.show), hint: false, group: "Compare"),
    ]).layered(over: movement).layered(over: global)
}
