/// The characters widgets draw with: Unicode (block elements, braille, box drawing) or an ASCII
/// fallback for terminals whose locale is not UTF-8. Every widget takes its glyphs from the
/// `Buffer` it draws into.
public struct Glyphs: Hashable, Sendable {
    public var isUnicode: Bool

    /// Vertical bar levels in eighths, index 0 (empty) ... 8 (full cell).
    public var verticalEighths: [String]
    /// Horizontal bar levels in eighths, index 0 (empty) ... 8 (full cell).
    public var horizontalEighths: [String]
    /// Sparkline levels, lowest to highest (never blank, so a zero still shows).
    public var sparkLevels: [String]
    /// Density shades, lightest to darkest (index 0 is blank).
    public var shades: [String]

    public var horizontal: String
    public var vertical: String
    public var topLeft: String
    public var topRight: String
    public var bottomLeft: String
    public var bottomRight: String
    /// Axis tick on a horizontal axis line (pointing up into the plot is not needed: `┬`).
    public var axisTickDown: String
    /// Corner where a vertical y axis meets the horizontal x axis.
    public var axisCorner: String
    /// Tick on a vertical axis.
    public var axisTickLeft: String

    public var ellipsis: String
    public var mark: String
    public var pointer: String
    public var sortAscending: String
    public var sortDescending: String
    public var newline: String
    public var tab: String
    public var carriageReturn: String
    public var visibleSpace: String
    /// Between the parts of a title or status line (`a · b`).
    public var separator: String
    public var replacement: String
    public var barFull: String
    public var barTrack: String
    public var scrollThumb: String
    public var scrollTrack: String
    public var legendSwatch: String
    /// One-character class markers for scatter plots without braille (class index cycles).
    public var classMarkers: [String]
    public var mixedMarker: String

    public static let unicode = Glyphs(
        isUnicode: true,
        verticalEighths: [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
        horizontalEighths: [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"],
        sparkLevels: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
        shades: [" ", "░", "▒", "▓", "█"],
        horizontal: "─", vertical: "│",
        topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘",
        axisTickDown: "┬", axisCorner: "└", axisTickLeft: "┤",
        ellipsis: "…", mark: "●", pointer: "▶",
        sortAscending: "▲", sortDescending: "▼",
        newline: "↵", tab: "→", carriageReturn: "␍", visibleSpace: "·", separator: "·", replacement: "\u{FFFD}",
        barFull: "█", barTrack: "░", scrollThumb: "█", scrollTrack: "│",
        legendSwatch: "●",
        classMarkers: ["o", "x", "+", "^", "s"], mixedMarker: "*"
    )

    public static let ascii = Glyphs(
        isUnicode: false,
        verticalEighths: [" ", ".", ".", ".", ".", "#", "#", "#", "#"],
        horizontalEighths: [" ", " ", " ", " ", "#", "#", "#", "#", "#"],
        sparkLevels: ["_", ".", "-", "~", "=", "+", "*", "#"],
        shades: [" ", ".", ":", "+", "#"],
        horizontal: "-", vertical: "|",
        topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
        axisTickDown: "+", axisCorner: "+", axisTickLeft: "+",
        ellipsis: "~", mark: "*", pointer: ">",
        sortAscending: "^", sortDescending: "v",
        newline: "\\n", tab: "\\t", carriageReturn: "\\r", visibleSpace: "_", separator: "|", replacement: "?",
        barFull: "#", barTrack: ".", scrollThumb: "#", scrollTrack: "|",
        legendSwatch: "#",
        classMarkers: ["o", "x", "+", "^", "s"], mixedMarker: "*"
    )

    /// Unicode when the locale's character set is UTF-8 (`LC_ALL`, else `LC_CTYPE`, else `LANG`).
    public static func detect(environment: [String: String]) -> Glyphs {
        let locale = [environment["LC_ALL"], environment["LC_CTYPE"], environment["LANG"]]
            .compactMap { $0 }.first { !$0.isEmpty } ?? ""
        let l = locale.lowercased()
        return l.contains("utf-8") || l.contains("utf8") ? .unicode : .ascii
    }

    /// A braille cell with the given dots set. Bits follow the Unicode braille layout:
    /// left column rows 0-2 = 0x01, 0x02, 0x04, right column rows 0-2 = 0x08, 0x10, 0x20,
    /// row 3 left = 0x40, right = 0x80. ASCII mode has no braille: see `BrailleScatter`.
    public static func braille(_ bits: UInt8) -> String {
        String(Character(Unicode.Scalar(0x2800 + UInt32(bits))!))
    }

    /// The braille bit for dot column `dx` (0-1) and row `dy` (0-3).
    public static func brailleBit(dx: Int, dy: Int) -> UInt8 {
        switch (dx, dy) {
        case (0, 0): return 0x01
        case (0, 1): return 0x02
        case (0, 2): return 0x04
        case (0, 3): return 0x40
        case (1, 0): return 0x08
        case (1, 1): return 0x10
        case (1, 2): return 0x20
        default: return 0x80
        }
    }
}
