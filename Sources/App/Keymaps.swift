import TUI

/// What a key asks for. Keymaps (below) bind keys to commands; help and the hint bar are
/// generated from the same tables.
public enum Command: Equatable, Sendable {
    case back, backOrQuit, quit, help, commandLine, cycleTheme
    case showOverview, showJobs, showFeatures
    case up, down, pageUp, pageDown, top, bottom
    case open, toggleMark, markAllListed, markSearchHits, clearMarks, export
    case nextSort, reverseSort, cycleFilter, toggleMarkedOnly
    case search, nextHit, previousHit
    case previousFeature, nextFeature, neighbour(Int), historyBack
    case reindex, toggleDeadInRankings
    case cancelJob
    case probes(ProbesCommand)
    case overview(OverviewCommand)
    case compare(CompareAction)
    case sequence(SequenceCommand)
    case text(TextScreenCommand)
    case label(LabelCommand)
}

/// The keys that interpret a feature (LabelEditing.swift).
public enum LabelCommand: Equatable, Sendable {
    case label, notes, tags, status
}

/// The sequence drill-down's commands (`open` is the detail screen's Enter on an exemplar,
/// `openTopExemplar` a list's `w` on a feature).
public enum SequenceCommand: Equatable, Sendable {
    case open, openTopExemplar, previousToken, nextToken, firingToken, openFeature
}

/// The text screen's commands (TextScreen.swift): `show` is the key of every screen; `send`,
/// `recall` and `leaveField` are the field's, the rest the token row's and the feature lists'.
public enum TextScreenCommand: Equatable, Sendable {
    case show, editText, nextFocus, previousFocus, send, recallEarlier, recallLater, leaveField
    case previousToken, nextToken, maxToken, openFeature, nextSort, reverseSort, cancel
}

public enum Keymaps {
    public static let global = Keymap<Command>([
        Binding([.char("?")], "help", .help, group: "General"),
        Binding([.char("q")], "quit / back", .backOrQuit, group: "General"),
        Binding([.escape], "back (drill-downs)", .back, hint: false, group: "General"),
        Binding([.ctrl("c")], "quit", .quit, hint: false, group: "General"),
        Binding([.char(":")], "command (:1234 jumps)", .commandLine, group: "General"),
        Binding([.char("o")], "overview", .showOverview, group: "General"),
        Binding([.char("J")], "jobs", .showJobs, group: "General"),
        Binding([.char("p")], "probes", .probes(.show), group: "General"),
        Binding([.char("F")], "features", .showFeatures, hint: false, group: "General"),
        Binding([.char("t")], "next theme", .cycleTheme, hint: false, group: "General"),
        Binding([.char("D")], "dead features in rankings", .toggleDeadInRankings, hint: false, group: "General"),
        Binding([.char("i")], "type a text: which features fire (the detail's feature selected)", .text(.show), hint: false, group: "General"),
    ])

    public static let movement = Keymap<Command>([
        Binding([.up, .char("k")], "up", .up, hint: false, group: "Move"),
        Binding([.down, .char("j")], "down", .down, hint: false, group: "Move"),
        Binding([.pageUp, .ctrl("b")], "page up", .pageUp, hint: false, group: "Move"),
        Binding([.pageDown, .ctrl("f")], "page down", .pageDown, hint: false, group: "Move"),
        Binding([.char("g"), .home], "first", .top, hint: false, group: "Move"),
        Binding([.char("G"), .end], "last", .bottom, hint: false, group: "Move"),
    ])

    static let features = Keymap<Command>([
        Binding([.enter, .char("l"), .right], "open", .open, group: "Features"),
        Binding([.char(" ")], "mark", .toggleMark, group: "Features"),
        Binding([.char("/")], "search text", .search, group: "Features"),
        Binding([.char("n")], "next hit", .nextHit, hint: false, group: "Features"),
        Binding([.char("N")], "previous hit", .previousHit, hint: false, group: "Features"),
        Binding([.char("s")], "sort column", .nextSort, group: "Features"),
        Binding([.char("S")], "reverse sort", .reverseSort, hint: false, group: "Features"),
        Binding([.char("f")], "filter all/alive/dead", .cycleFilter, group: "Features"),
        Binding([.char("m")], "marked only", .toggleMarkedOnly, hint: false, group: "Features"),
        Binding([.char("a")], "mark every listed", .markAllListed, hint: false, group: "Features"),
        Binding([.char("A")], "mark every search hit", .markSearchHits, hint: false, group: "Features"),
        Binding([.char("u")], "clear marks", .clearMarks, hint: false, group: "Features"),
        Binding([.char("e")], "export marked", .export, group: "Features"),
        Binding([.char("c")], "compare with the second dictionary", .compare(.show), hint: false, group: "Features"),
        Binding([.char("w")], "top exemplar's sequence (a search hit's match)", .sequence(.openTopExemplar), hint: false, group: "Features"),
    ] + labelBindings(group: "Features")).layered(over: movement).layered(over: global)

    static let detail = Keymap<Command>([
        Binding([.char("h"), .left], "previous feature", .previousFeature, group: "Feature"),
        Binding([.char("l"), .right], "next feature", .nextFeature, group: "Feature"),
        Binding((1...9).map { Key.char(Character(String($0))) }, "open neighbour 1-9", .neighbour(0), label: "1-9", group: "Feature"),
        Binding([.backspace, .char("b")], "back to previous", .historyBack, hint: false, group: "Feature"),
        Binding([.char(" ")], "mark", .toggleMark, group: "Feature"),
        Binding([.char("/")], "search text", .search, hint: false, group: "Feature"),
        Binding([.char("n")], "next hit", .nextHit, hint: false, group: "Feature"),
        Binding([.char("N")], "previous hit", .previousHit, hint: false, group: "Feature"),
        Binding([.char("e")], "export marked", .export, hint: false, group: "Feature"),
        Binding([.enter], "open sequence", .sequence(.open), group: "Feature"),
    ] + labelBindings(group: "Feature")).layered(over: movement).layered(over: global)

    static let sequence = Keymap<Command>([
        Binding([.char("h"), .left], "previous token", .sequence(.previousToken), group: "Sequence"),
        Binding([.char("l"), .right], "next token", .sequence(.nextToken), group: "Sequence"),
        Binding([.enter], "open feature", .sequence(.openFeature), group: "Sequence"),
        Binding([.char("f")], "firing token", .sequence(.firingToken), group: "Sequence"),
    ]).layered(over: movement).layered(over: global)

    /// The text screen while its field has the focus: every other key edits the text (as the
    /// prompts do: Left/Right, Home/End, Backspace, Delete, C-a C-e C-u C-k C-w).
    public static let textField = Keymap<Command>([
        Binding([.enter], "send", .text(.send), group: "Text field"),
        Binding([.tab], "tokens", .text(.nextFocus), group: "Text field"),
        Binding([.backTab], "features over the text", .text(.previousFocus), hint: false, group: "Text field"),
        Binding([.up], "earlier text", .text(.recallEarlier), label: "Up/Down", group: "Text field"),
        Binding([.down], "later text", .text(.recallLater), hint: false, group: "Text field"),
        Binding([.escape], "leave the field", .text(.leaveField), group: "Text field"),
        Binding([.ctrl("c")], "quit", .quit, hint: false, group: "Text field"),
    ])

    /// The text screen's token row and feature lists (Tab moves between them and the field).
    static let textBrowse = Keymap<Command>([
        Binding([.tab], "focus: text / tokens / features", .text(.nextFocus), group: "Text"),
        Binding([.backTab], "focus back", .text(.previousFocus), hint: false, group: "Text"),
        Binding([.char("i")], "edit the text", .text(.editText), group: "Text"),
        Binding([.char("h"), .left], "previous token", .text(.previousToken), group: "Text"),
        Binding([.char("l"), .right], "next token", .text(.nextToken), group: "Text"),
        Binding([.enter], "open feature", .text(.openFeature), group: "Text"),
        Binding([.char("f")], "the feature's highest token", .text(.maxToken), hint: false, group: "Text"),
        Binding([.char("s")], "sort features over the text", .text(.nextSort), group: "Text"),
        Binding([.char("S")], "reverse sort", .text(.reverseSort), hint: false, group: "Text"),
        Binding([.char("x")], "cancel scoring", .text(.cancel), hint: false, group: "Text"),
    ])

    /// The text screen's keys as help and `saescope keys` list them: the browsing keys, then the
    /// field's (which only apply while it has the focus).
    /// (The field's keys are not hints here: the hint line shows them while the field has the focus.)
    static let text = Keymap<Command>(textBrowse.bindings + textField.bindings.map { var b = $0; b.hint = false; return b })
        .layered(over: movement).layered(over: global)

    static let jobs = Keymap<Command>([
        Binding([.char("x"), .delete], "cancel job", .cancelJob, group: "Jobs"),
    ]).layered(over: movement).layered(over: global)

    /// L, E, T, R: the same on the list and the detail screen.
    static func labelBindings(group: String) -> [Binding<Command>] {
        [Binding([.char("L")], "label", .label(.label), hint: false, group: group),
         Binding([.char("E")], "notes", .label(.notes), hint: false, group: group),
         Binding([.char("T")], "tags", .label(.tags), hint: false, group: group),
         Binding([.char("R")], "review status", .label(.status), hint: false, group: group)]
    }

    public static func keymap(for screen: Screen) -> Keymap<Command> {
        switch screen {
        case .features: return features
        case .detail: return detail
        case .overview: return overview
        case .jobs: return jobs
        case .probes: return probes
        case .compare: return compare
        case .sequence: return sequence
        case .text: return text
        }
    }

    /// The command for `key` on `screen`; digit keys carry which neighbour they open.
    public static func command(for key: Key, on screen: Screen) -> Command? {
        guard let command = keymap(for: screen).command(for: key) else { return nil }
        if case .neighbour = command, case .char(let c) = key, let n = c.wholeNumberValue { return .neighbour(n) }
        return command
    }
}
