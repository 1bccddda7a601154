import App
import ArgumentParser
import TUI

/// Prints every screen's key bindings from the same keymaps that draw the hint bar and `?` help,
/// so the README's key table is generated, never retyped.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Print the interface's key bindings, screen by screen.")

    func run() {
        print(Self.text())
    }

    static func text() -> String {
        // The keys every screen shares once, then what each screen adds.
        var lines = ["[every screen]"] + Keymaps.global.layered(over: Keymaps.movement).helpLines(glyphs: .ascii).filter { !$0.isEmpty }
        let shared = Set((Keymaps.global.bindings + Keymaps.movement.bindings).map(\.group))
        for screen in Screen.allCases {
            let own = Keymap(Keymaps.keymap(for: screen).bindings.filter { !shared.contains($0.group) })
            lines += ["", "[\(screen.rawValue)]"] + own.helpLines(glyphs: .ascii).filter { !$0.isEmpty }
        }
        return lines.joined(separator: "\n")
    }
}
