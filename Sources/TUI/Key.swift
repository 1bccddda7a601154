/// A mouse event with the cell it happened in (0-based).
public struct MouseEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case press(button: Int)
        case release(button: Int)
        case wheelUp
        case wheelDown
        case drag(button: Int)
    }
    public var kind: Kind
    public var x: Int
    public var y: Int

    public init(_ kind: Kind, x: Int, y: Int) {
        self.kind = kind
        self.x = x
        self.y = y
    }
}

/// An input event as the terminal layer decodes it.
public enum Key: Hashable, Sendable, CustomStringConvertible {
    /// A printable character (space included).
    case char(Character)
    case up, down, left, right
    case home, end, pageUp, pageDown
    case insert, delete
    case enter, escape, tab, backTab, backspace
    /// Ctrl with a letter, lower case (`.ctrl("c")`). Ctrl-I/M/H arrive as tab/enter/backspace.
    case ctrl(Character)
    /// F1 ... F24.
    case function(Int)
    case mouse(MouseEvent)
    case resize(width: Int, height: Int)

    /// A readable name for hint bars and help: `↑`, `PgDn`, `C-c`, `F5`, `Space` (ASCII names
    /// for the arrows with `.ascii` glyphs).
    public func label(_ glyphs: Glyphs = .unicode) -> String {
        switch self {
        case .char(" "): return "Space"
        case .char(let c): return String(c)
        case .up: return glyphs.isUnicode ? "↑" : "Up"
        case .down: return glyphs.isUnicode ? "↓" : "Down"
        case .left: return glyphs.isUnicode ? "←" : "Left"
        case .right: return glyphs.isUnicode ? "→" : "Right"
        case .home: return "Home"
        case .end: return "End"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .insert: return "Ins"
        case .delete: return "Del"
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .tab: return "Tab"
        case .backTab: return "S-Tab"
        case .backspace: return "Bksp"
        case .ctrl(let c): return "C-\(c)"
        case .function(let n): return "F\(n)"
        case .mouse: return "Mouse"
        case .resize: return "Resize"
        }
    }

    public var description: String { label(.ascii) }

    /// Parses a key name as written in keymaps: a single character (`q`, `?`, `G`), `Space`,
    /// `Up`/`Down`/`Left`/`Right`, `Home`, `End`, `PgUp`, `PgDn`, `Ins`, `Del`, `Enter`, `Esc`,
    /// `Tab`, `S-Tab`/`BackTab`, `Backspace`/`Bksp`, `C-x`/`Ctrl-x`, `F1`...`F24`.
    /// Case-insensitive except single characters. Nil when unknown.
    public init?(name: String) {
        if name.count == 1 {
            self = .char(name.first!)
            return
        }
        let n = name.lowercased()
        switch n {
        case "space": self = .char(" ")
        case "up": self = .up
        case "down": self = .down
        case "left": self = .left
        case "right": self = .right
        case "home": self = .home
        case "end": self = .end
        case "pgup", "pageup": self = .pageUp
        case "pgdn", "pagedown": self = .pageDown
        case "ins", "insert": self = .insert
        case "del", "delete": self = .delete
        case "enter", "return": self = .enter
        case "esc", "escape": self = .escape
        case "tab": self = .tab
        case "s-tab", "backtab", "shift-tab": self = .backTab
        case "backspace", "bksp": self = .backspace
        default:
            for p in ["c-", "ctrl-", "ctrl+", "^"] where n.hasPrefix(p) {
                let rest = n.dropFirst(p.count)
                if rest.count == 1, let c = rest.first, c.isLetter, c.isASCII {
                    self = .ctrl(c)
                    return
                }
            }
            if n.hasPrefix("f"), let k = Int(n.dropFirst()), k >= 1, k <= 24 {
                self = .function(k)
                return
            }
            return nil
        }
    }
}

/// One key binding: the keys, a short help text, the command, and how it shows in hints.
public struct Binding<Command: Sendable>: Sendable {
    public var keys: [Key]
    public var help: String
    public var command: Command
    /// Overrides the key label in the hint bar (e.g. `↑↓/jk` for a pair of bindings); help
    /// always lists the keys themselves.
    public var label: String?
    /// Whether the binding appears in the hint bar (all bindings appear in help).
    public var hint: Bool
    /// Help section title (bindings are grouped in order of first appearance).
    public var group: String

    public init(_ keys: [Key], _ help: String, _ command: Command, label: String? = nil, hint: Bool = true,
                group: String = "") {
        self.keys = keys
        self.help = help
        self.command = command
        self.label = label
        self.hint = hint
        self.group = group
    }

    public init(_ key: Key, _ help: String, _ command: Command, label: String? = nil, hint: Bool = true,
                group: String = "") {
        self.init([key], help, command, label: label, hint: hint, group: group)
    }

    /// `q`, `↑/k`: the keys as the hint bar shows them (`label` when set).
    public func keyLabel(_ glyphs: Glyphs = .unicode) -> String {
        label ?? keysLabel(glyphs)
    }

    /// All the keys, `/`-separated, as help lists them.
    public func keysLabel(_ glyphs: Glyphs = .unicode) -> String {
        // A run of three or more consecutive digits reads as a range: "1-9", not "1/2/.../9".
        let digits = keys.compactMap { key -> Int? in
            if case .char(let c) = key { return c.wholeNumberValue } else { return nil }
        }
        if digits.count == keys.count, digits.count >= 3, zip(digits, digits.dropFirst()).allSatisfy({ $1 == $0 + 1 }) {
            return "\(digits[0])-\(digits[digits.count - 1])"
        }
        return keys.map { $0.label(glyphs) }.joined(separator: "/")
    }
}

/// Key bindings as data: lookup, the hint bar and the help listing all come from one table.
public struct Keymap<Command: Sendable>: Sendable {
    public private(set) var bindings: [Binding<Command>]
    private var index: [Key: Int]

    public init(_ bindings: [Binding<Command>]) {
        self.bindings = []
        index = [:]
        for b in bindings { add(b) }
    }

    /// Adds a binding; keys already bound keep their earlier binding.
    public mutating func add(_ binding: Binding<Command>) {
        bindings.append(binding)
        for k in binding.keys where index[k] == nil {
            index[k] = bindings.count - 1
        }
    }

    /// This map, then `other`'s bindings for keys this one does not bind (screen map over a
    /// global map).
    public func layered(over other: Keymap<Command>) -> Keymap<Command> {
        var m = self
        for b in other.bindings {
            let free = b.keys.filter { m.index[$0] == nil }
            if free.isEmpty { continue }
            var b2 = b
            b2.keys = free
            if free.count != b.keys.count { b2.label = nil }
            m.add(b2)
        }
        return m
    }

    public func binding(for key: Key) -> Binding<Command>? {
        index[key].map { bindings[$0] }
    }

    public func command(for key: Key) -> Command? {
        binding(for: key)?.command
    }

    /// Hint entries for the bar: `(keys, help)` of the bindings marked `hint`, in order.
    public func hints(_ glyphs: Glyphs = .unicode) -> [(keys: String, help: String)] {
        bindings.filter(\.hint).map { ($0.keyLabel(glyphs), $0.help) }
    }

    /// The hint bar as one line of at most `width` columns: `key help` entries separated by two
    /// spaces, in table order. Entries are taken in order; one that does not fit is skipped and
    /// later, shorter ones may still fit. Returns the chosen entries with their columns, for
    /// styling keys apart from help.
    public func hintBar(width: Int, glyphs: Glyphs = .unicode) -> HintBar {
        var items: [HintBar.Item] = []
        var x = 0
        for h in hints(glyphs) {
            let kw = DisplayWidth.of(h.keys)
            let hw = DisplayWidth.of(h.help)
            let sep = items.isEmpty ? 0 : 2
            let need = sep + kw + (hw > 0 ? 1 + hw : 0)
            if x + need > width { continue }
            x += sep
            items.append(HintBar.Item(keys: h.keys, help: h.help, x: x))
            x += need - sep
        }
        return HintBar(items: items, width: x)
    }

    /// Help listing: per group, one `keys  help` line with keys padded to a common column.
    public func helpLines(glyphs: Glyphs = .unicode) -> [String] {
        let keyWidth = bindings.map { DisplayWidth.of($0.keysLabel(glyphs)) }.max() ?? 0
        var groups: [String] = []
        var byGroup: [String: [Binding<Command>]] = [:]
        for b in bindings {
            if byGroup[b.group] == nil { groups.append(b.group) }
            byGroup[b.group, default: []].append(b)
        }
        var lines: [String] = []
        for g in groups {
            if !g.isEmpty {
                if !lines.isEmpty { lines.append("") }
                lines.append(g)
            }
            for b in byGroup[g]! {
                lines.append("  " + Text.fit(b.keysLabel(glyphs), width: keyWidth) + "  " + b.help)
            }
        }
        return lines
    }
}

/// A laid-out hint bar (see `Keymap.hintBar`).
public struct HintBar: Hashable, Sendable {
    public struct Item: Hashable, Sendable {
        public var keys: String
        public var help: String
        /// Column of the keys, relative to the bar's start.
        public var x: Int
    }
    public var items: [Item]
    /// Columns used.
    public var width: Int

    /// The bar as plain text.
    public var line: String {
        var s = ""
        for it in items {
            s += String(repeating: " ", count: max(0, it.x - DisplayWidth.of(s)))
            s += it.keys
            if !it.help.isEmpty { s += " " + it.help }
        }
        return s
    }

    /// Draws the bar in `rect`'s first row: keys in `keyStyle`, help in `helpStyle`.
    public func draw(into buffer: inout Buffer, rect: Rect, keyStyle: Style = Style(.accent, [.bold]),
                     helpStyle: Style = .fg(.dimText)) {
        guard !rect.isEmpty else { return }
        for it in items {
            let x = buffer.put(it.keys, at: Point(x: rect.x + it.x, y: rect.y), style: keyStyle, clip: rect)
            if !it.help.isEmpty {
                buffer.put(it.help, at: Point(x: x + 1, y: rect.y), style: helpStyle, clip: rect)
            }
        }
    }
}
