/// Semantic colour roles. Widgets and screens name roles; a `Theme` turns them into colours.
public enum Role: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case background, text, dimText, title, selection, border, accent
    case positive, negative, mixed
    case rampStart, rampEnd
    case warning, error

    /// The key in a theme file (snake_case).
    public var themeKey: String {
        switch self {
        case .dimText: return "dim_text"
        case .rampStart: return "ramp_start"
        case .rampEnd: return "ramp_end"
        default: return rawValue
        }
    }

    public init?(themeKey: String) {
        guard let r = Role.allCases.first(where: { $0.themeKey == themeKey }) else { return nil }
        self = r
    }

    public var description: String { rawValue }
}

/// A colour as widgets ask for it: a role, or a point on the theme's activation ramp.
public enum Ink: Hashable, Sendable, CustomStringConvertible {
    case role(Role)
    /// A ramp position quantised to `0...Ink.rampSteps - 1` (rampStart ... rampEnd).
    case ramp(UInt8)

    /// Number of distinct ramp colours (keeps terminal colour pairs bounded).
    public static let rampSteps = 16

    /// The ramp colour for a fraction in [0, 1] (clamped; NaN is 0).
    public static func ramp(fraction: Double) -> Ink {
        .ramp(UInt8(Ink.rampLevel(fraction)))
    }

    /// Quantised ramp level of a fraction: 0 ... rampSteps - 1.
    public static func rampLevel(_ fraction: Double) -> Int {
        guard fraction.isFinite, fraction > 0 else { return 0 }
        if fraction >= 1 { return rampSteps - 1 }
        return min(rampSteps - 1, Int((fraction * Double(rampSteps - 1)).rounded()))
    }

    /// The fraction a ramp level stands for.
    public static func rampFraction(_ level: UInt8) -> Double {
        Double(min(Int(level), rampSteps - 1)) / Double(rampSteps - 1)
    }

    public var description: String {
        switch self {
        case .role(let r): return r.rawValue
        case .ramp(let l): return "ramp\(l)"
        }
    }
}

/// Text attributes.
public struct Attributes: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = Attributes(rawValue: 1)
    public static let underline = Attributes(rawValue: 2)
    public static let reverse = Attributes(rawValue: 4)
    public static let dim = Attributes(rawValue: 8)

    public var description: String {
        var parts: [String] = []
        if contains(.bold) { parts.append("bold") }
        if contains(.underline) { parts.append("underline") }
        if contains(.reverse) { parts.append("reverse") }
        if contains(.dim) { parts.append("dim") }
        return parts.joined(separator: "+")
    }
}

/// How a cell is drawn. `nil` colours mean "keep what the cell has" when drawn over a cell, and
/// the theme's text / background colours when resolved.
public struct Style: Hashable, Sendable, CustomStringConvertible {
    public var fg: Ink?
    public var bg: Ink?
    public var attributes: Attributes

    public init(fg: Ink? = nil, bg: Ink? = nil, attributes: Attributes = []) {
        self.fg = fg
        self.bg = bg
        self.attributes = attributes
    }

    public init(_ fg: Role, bg: Role? = nil, _ attributes: Attributes = []) {
        self.init(fg: .role(fg), bg: bg.map { .role($0) }, attributes: attributes)
    }

    /// No colours, no attributes.
    public static let plain = Style()

    public static func fg(_ role: Role) -> Style { Style(fg: .role(role)) }
    public static func bg(_ role: Role) -> Style { Style(bg: .role(role)) }

    public var bold: Style { adding(.bold) }
    public var underline: Style { adding(.underline) }
    public var reverse: Style { adding(.reverse) }
    public var dim: Style { adding(.dim) }

    public func adding(_ a: Attributes) -> Style {
        var s = self
        s.attributes.formUnion(a)
        return s
    }

    public func with(fg: Ink?) -> Style {
        var s = self
        s.fg = fg
        return s
    }

    public func with(bg: Ink?) -> Style {
        var s = self
        s.bg = bg
        return s
    }

    /// `self` drawn over `base`: colours left nil are taken from `base`; attributes replace.
    public func over(_ base: Style) -> Style {
        Style(fg: fg ?? base.fg, bg: bg ?? base.bg, attributes: attributes)
    }

    /// Background shaded by an activation fraction along the theme ramp (rampStart -> rampEnd).
    public static func shaded(_ fraction: Double) -> Style {
        Style(bg: .ramp(fraction: fraction))
    }

    /// Compact description used by style snapshots, e.g. `title/selection bold`.
    public var description: String {
        var s = fg.map { "\($0)" } ?? "-"
        if let bg { s += "/\(bg)" }
        if !attributes.isEmpty { s += " \(attributes)" }
        return s
    }
}
