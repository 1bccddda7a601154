import TUI

/// A small multi-line text editor for a feature's notes: lines of characters and a cursor
/// (line, column in characters). Enter breaks the line, Backspace at a line's start joins it to
/// the previous one; arrows, Home / End and Ctrl-A / Ctrl-E move.
public struct NotesEditor: Equatable, Sendable {
    public let feature: Int
    public private(set) var lines: [[Character]]
    public private(set) var line = 0
    public private(set) var column = 0

    public init(feature: Int, text: String) {
        self.feature = feature
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0) }
        if lines.isEmpty { lines = [[]] }
        line = lines.count - 1
        column = lines[line].count
    }

    public var text: String { lines.map { String($0) }.joined(separator: "\n") }

    public mutating func handle(_ key: Key) {
        switch key {
        case .char(let c): lines[line].insert(c, at: column); column += 1
        case .enter:
            let rest = Array(lines[line][column...])
            lines[line].removeSubrange(column...)
            lines.insert(rest, at: line + 1)
            line += 1
            column = 0
        case .backspace:
            if column > 0 {
                column -= 1
                lines[line].remove(at: column)
            } else if line > 0 {
                column = lines[line - 1].count
                lines[line - 1] += lines[line]
                lines.remove(at: line)
                line -= 1
            }
        case .delete, .ctrl("d"):
            if column < lines[line].count {
                lines[line].remove(at: column)
            } else if line + 1 < lines.count {
                lines[line] += lines[line + 1]
                lines.remove(at: line + 1)
            }
        case .left: if column > 0 { column -= 1 } else if line > 0 { line -= 1; column = lines[line].count }
        case .right: if column < lines[line].count { column += 1 } else if line + 1 < lines.count { line += 1; column = 0 }
        case .up: if line > 0 { line -= 1; column = min(column, lines[line].count) }
        case .down: if line + 1 < lines.count { line += 1; column = min(column, lines[line].count) }
        case .home, .ctrl("a"): column = 0
        case .end, .ctrl("e"): column = lines[line].count
        default: break
        }
    }
}
