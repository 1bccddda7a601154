import Foundation

/// A 24-bit colour.
public struct RGB: Hashable, Sendable, CustomStringConvertible {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// Parses `#rrggbb` or `#rgb` (the `#` is optional).
    public init?(hex: String) {
        var s = Substring(hex)
        if s.hasPrefix("#") { s = s.dropFirst() }
        guard s.allSatisfy({ $0.isHexDigit }) else { return nil }
        if s.count == 3 {
            let v = s.map { UInt8(String([$0, $0]), radix: 16)! }
            self.init(v[0], v[1], v[2])
        } else if s.count == 6, let v = UInt32(s, radix: 16) {
            self.init(UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF))
        } else {
            return nil
        }
    }

    /// `#rrggbb`, lower case.
    public var hex: String {
        func h(_ v: UInt8) -> String {
            let s = String(v, radix: 16)
            return s.count == 1 ? "0" + s : s
        }
        return "#" + h(r) + h(g) + h(b)
    }

    public var description: String { hex }

    /// WCAG relative luminance in [0, 1].
    public var luminance: Double {
        func lin(_ v: UInt8) -> Double {
            let c = Double(v) / 255
            return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    }

    /// WCAG contrast ratio (1 ... 21).
    public func contrast(with other: RGB) -> Double {
        let a = luminance, b = other.luminance
        return (max(a, b) + 0.05) / (min(a, b) + 0.05)
    }

    /// Linear blend in the OKLab perceptual space: `t = 0` is `self`, `t = 1` is `other`.
    public func blended(to other: RGB, fraction t: Double) -> RGB {
        let t = t.isFinite ? max(0, min(1, t)) : 0
        let a = OKLab(self), b = OKLab(other)
        return OKLab(L: a.L + (b.L - a.L) * t, a: a.a + (b.a - a.a) * t, b: a.b + (b.b - a.b) * t).rgb
    }
}

/// OKLab (Björn Ottosson, 2020) for perceptual blending and nearest-colour search.
struct OKLab {
    var L: Double, a: Double, b: Double

    init(L: Double, a: Double, b: Double) {
        self.L = L
        self.a = a
        self.b = b
    }

    init(_ c: RGB) {
        func lin(_ v: UInt8) -> Double {
            let x = Double(v) / 255
            return x <= 0.04045 ? x / 12.92 : pow((x + 0.055) / 1.055, 2.4)
        }
        let r = lin(c.r), g = lin(c.g), bl = lin(c.b)
        let l = cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * bl)
        let m = cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * bl)
        let s = cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * bl)
        L = 0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s
        a = 1.9779984951 * l - 2.4285922050 * m + 0.4505937099 * s
        b = 0.0259040371 * l + 0.7827717662 * m - 0.8086757660 * s
    }

    var rgb: RGB {
        let l_ = L + 0.3963377774 * a + 0.2158037573 * b
        let m_ = L - 0.1055613458 * a - 0.0638541728 * b
        let s_ = L - 0.0894841775 * a - 1.2914855480 * b
        let l = l_ * l_ * l_, m = m_ * m_ * m_, s = s_ * s_ * s_
        let r = 4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s
        let g = -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s
        let bl = -0.0041960863 * l - 0.7034186147 * m + 1.7076147010 * s
        func enc(_ x: Double) -> UInt8 {
            let c = max(0, min(1, x))
            let v = c <= 0.0031308 ? 12.92 * c : 1.055 * pow(c, 1 / 2.4) - 0.055
            return UInt8(max(0, min(255, (v * 255).rounded())))
        }
        return RGB(enc(r), enc(g), enc(bl))
    }

    func distance2(_ o: OKLab) -> Double {
        let dl = L - o.L, da = a - o.a, db = b - o.b
        return dl * dl + da * da + db * db
    }
}

/// A colour as a terminal takes it.
public enum TermColor: Hashable, Sendable, CustomStringConvertible {
    /// The terminal's own default foreground/background.
    case terminalDefault
    /// An indexed colour: 0-7 in 8-colour mode, 16-255 in 256-colour mode.
    case indexed(UInt8)
    case rgb(RGB)

    public var description: String {
        switch self {
        case .terminalDefault: return "default"
        case .indexed(let i): return "\(i)"
        case .rgb(let c): return c.hex
        }
    }
}

/// How many colours the terminal shows.
public enum ColorMode: String, CaseIterable, Hashable, Sendable {
    case truecolor, palette256, palette8, monochrome

    /// From the environment (and, when known, the terminal's colour count):
    /// `NO_COLOR` (set and non-empty) or `TERM=dumb` -> monochrome; `COLORTERM=truecolor|24bit`
    /// -> truecolor; 256 colours (or `TERM=*256color*`) -> palette256; otherwise palette8.
    public static func detect(environment: [String: String], terminalColors: Int? = nil) -> ColorMode {
        if let nc = environment["NO_COLOR"], !nc.isEmpty { return .monochrome }
        let term = environment["TERM"] ?? ""
        if term == "dumb" { return .monochrome }
        if let c = terminalColors, c < 8 { return .monochrome }
        let colorterm = (environment["COLORTERM"] ?? "").lowercased()
        if colorterm == "truecolor" || colorterm == "24bit" || term.hasSuffix("-direct") { return .truecolor }
        if let c = terminalColors { return c >= 256 ? .palette256 : .palette8 }
        if term.contains("256color") { return .palette256 }
        return .palette8
    }
}

/// A style resolved for a terminal: concrete colours (or defaults) and attributes.
public struct ResolvedStyle: Hashable, Sendable, CustomStringConvertible {
    public var fg: TermColor
    public var bg: TermColor
    public var attributes: Attributes

    public init(fg: TermColor = .terminalDefault, bg: TermColor = .terminalDefault, attributes: Attributes = []) {
        self.fg = fg
        self.bg = bg
        self.attributes = attributes
    }

    public var description: String {
        "\(fg)/\(bg)" + (attributes.isEmpty ? "" : " \(attributes)")
    }
}

/// Nearest-colour search for the palette modes.
public enum Palette {
    /// The eight ANSI colours as xterm draws them (index 0-7).
    public static let ansi8: [RGB] = [
        RGB(0, 0, 0), RGB(205, 0, 0), RGB(0, 205, 0), RGB(205, 205, 0),
        RGB(0, 0, 238), RGB(205, 0, 205), RGB(0, 205, 205), RGB(229, 229, 229),
    ]

    private static let cubeLevels: [Int] = [0, 95, 135, 175, 215, 255]

    /// The xterm-256 colour of an index 16-255.
    public static func xterm256(_ index: UInt8) -> RGB {
        let i = Int(index)
        if i >= 232 {
            let v = UInt8(8 + 10 * (i - 232))
            return RGB(v, v, v)
        }
        if i >= 16 {
            let c = i - 16
            return RGB(UInt8(cubeLevels[c / 36]), UInt8(cubeLevels[(c / 6) % 6]), UInt8(cubeLevels[c % 6]))
        }
        return ansi8[i % 8]
    }

    /// Nearest xterm-256 index (16-255: the colour cube and the grey ramp; 0-15 vary between
    /// terminals and are avoided), by OKLab distance.
    public static func nearest256(_ c: RGB) -> UInt8 {
        let target = OKLab(c)
        func near(_ v: UInt8) -> [Int] {
            // The two cube levels around v.
            let x = Int(v)
            var best = 0
            for (i, l) in cubeLevels.enumerated() where l <= x { best = i }
            return best < 5 ? [best, best + 1] : [best]
        }
        var bestIndex = 16
        var bestD = Double.infinity
        for ri in near(c.r) {
            for gi in near(c.g) {
                for bi in near(c.b) {
                    let idx = 16 + 36 * ri + 6 * gi + bi
                    let d = OKLab(xterm256(UInt8(idx))).distance2(target)
                    if d < bestD { bestD = d; bestIndex = idx }
                }
            }
        }
        let grey = (Int(c.r) + Int(c.g) + Int(c.b)) / 3
        let gi = max(0, min(23, (grey - 8 + 5) / 10))
        for g in [gi - 1, gi, gi + 1] where g >= 0 && g <= 23 {
            let idx = 232 + g
            let d = OKLab(xterm256(UInt8(idx))).distance2(target)
            if d < bestD { bestD = d; bestIndex = idx }
        }
        return UInt8(bestIndex)
    }

    /// Nearest of the eight ANSI colours, by OKLab distance.
    public static func nearest8(_ c: RGB) -> UInt8 {
        let target = OKLab(c)
        var best = 0
        var bestD = Double.infinity
        for (i, p) in ansi8.enumerated() {
            let d = OKLab(p).distance2(target)
            if d < bestD { bestD = d; best = i }
        }
        return UInt8(best)
    }
}
