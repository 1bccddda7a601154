import TUI

/// The probes screen's own commands, carried by `Command.probes` so the shared command enum
/// grows by one case only.
public enum ProbesCommand: Equatable, Sendable {
    case show
    case nextPane, previousPane
    case left, right
    case nextComponents, previousComponents
    case cycleBasis, cyclePlotted, cycleLabel, toggleDensity
    case cycleMethod, toggleMetric
    case open
}

extension Keymaps {
    static let probes = Keymap<Command>([
        Binding([.tab], "pane", .probes(.nextPane), group: "Probes"),
        Binding([.backTab], "previous pane", .probes(.previousPane), hint: false, group: "Probes"),
        Binding([.char("c")], "label", .probes(.cycleLabel), group: "Probes"),
        Binding([.char("m")], "method", .probes(.cycleMethod), group: "Probes"),
        Binding([.enter], "open feature", .probes(.open), group: "Probes"),
        Binding([.char("w")], "aligned feature's top exemplar's sequence", .sequence(.openTopExemplar), hint: false, group: "Probes"),
        Binding([.char("a")], "accuracy / AUROC", .probes(.toggleMetric), hint: false, group: "Probes"),
        Binding([.left, .char("h")], "test set left (PCA: components)", .probes(.left), hint: false, group: "Probes"),
        Binding([.right, .char("l")], "test set right (PCA: components)", .probes(.right), hint: false, group: "Probes"),
        Binding([.char("]")], "components", .probes(.nextComponents), label: "[]", group: "PCA"),
        Binding([.char("[")], "previous components", .probes(.previousComponents), hint: false, group: "PCA"),
        Binding([.char("b")], "basis", .probes(.cycleBasis), group: "PCA"),
        Binding([.char("d")], "data", .probes(.cyclePlotted), group: "PCA"),
        Binding([.char("x")], "density", .probes(.toggleDensity), group: "PCA"),
    ]).layered(over: movement).layered(over: global)
}
