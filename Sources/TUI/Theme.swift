import Foundation

/// Role -> colour, plus how roles degrade to 256 colours, 8 colours and no colour.
public struct Theme: Hashable, Sendable {
    public var name: String
    public var colors: [Role: RGB]
    /// Without colour, ramp shades at or above this fraction are underlined (backgrounds) or
    /// bold (foregrounds); below it they are plain.
    public var monoRampThreshold: Double

    public init(name: String, colors: [Role: RGB], monoRampThreshold: Double = 0.5) {
        self.name = name
        self.colors = colors
        self.monoRampThreshold = monoRampThreshold
    }

    public subscript(role: Role) -> RGB {
        colors[role] ?? Theme.dark.colors[role] ?? RGB(255, 0, 255)
    }

    /// The ramp colour at `fraction` (rampStart -> rampEnd, blended in OKLab).
    public func rampColor(_ fraction: Double) -> RGB {
        self[.rampStart].blended(to: self[.rampEnd], fraction: fraction)
    }

    public func rgb(_ ink: Ink) -> RGB {
        switch ink {
        case .role(let r): return self[r]
        case .ramp(let level): return rampColor(Ink.rampFraction(level))
        }
    }

    // MARK: Built-in themes

    /// The default theme.
    public static let dark: Theme = builtin(BuiltinThemes.dark, "dark")
    public static let light: Theme = builtin(BuiltinThemes.light, "light")
    public static let highContrast: Theme = builtin(BuiltinThemes.highContrast, "high-contrast")

    public static let builtinNames = ["dark", "light", "high-contrast"]

    /// The built-in theme with this name, or nil.
    public static func builtin(named name: String) -> Theme? {
        switch name {
        case "dark": return .dark
        case "light": return .light
        case "high-contrast": return .highContrast
        default: return nil
        }
    }

    /// The embedded TOML text of a built-in theme (the same bytes as `themes/<name>.toml`).
    public static func builtinSource(named name: String) -> String? {
        switch name {
        case "dark": return BuiltinThemes.dark + "\n"
        case "light": return BuiltinThemes.light + "\n"
        case "high-contrast": return BuiltinThemes.highContrast + "\n"
        default: return nil
        }
    }

    private static func builtin(_ text: String, _ name: String) -> Theme {
        // The dark theme is its own fallback; the files are checked by tests to be complete.
        let base = Theme(name: name, colors: [:])
        do {
            return try ThemeParser.parse(text, file: "<built-in \(name)>", base: base).theme
        } catch {
            preconditionFailure("built-in theme \(name) does not parse: \(error)")
        }
    }

    // MARK: Loading

    /// Parses theme text. Missing keys take `base`'s colours (the dark theme by default).
    public static func parse(_ text: String, file: String, base: Theme = .dark) throws -> ThemeLoad {
        try ThemeParser.parse(text, file: file, base: base)
    }

    /// Loads a theme file. Never fails: a missing or broken file yields the default theme and a
    /// one-line `error` naming the file.
    public static func load(file path: String) -> ThemeLoad {
        // Only a regular file: reading a FIFO or a device would block the start-up forever.
        let resolved = (path as NSString).resolvingSymlinksInPath
        let type = (try? FileManager.default.attributesOfItem(atPath: resolved))?[.type] as? FileAttributeType
        guard type == .typeRegular, let data = FileManager.default.contents(atPath: path) else {
            return ThemeLoad(theme: .dark, error: "\(path): cannot read the theme file; using the default theme (dark)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return ThemeLoad(theme: .dark, error: "\(path): not UTF-8 text; using the default theme (dark)")
        }
        do {
            return try parse(text, file: path)
        } catch let e as ThemeError {
            return ThemeLoad(theme: .dark, error: "\(e.message); using the default theme (dark)")
        } catch {
            return ThemeLoad(theme: .dark, error: "\(path): \(error); using the default theme (dark)")
        }
    }

    /// Loads a theme by name: `<dir>/<name>.toml` from the first search directory holding it,
    /// else the built-in theme of that name. A name containing `/` or ending in `.toml` is a path.
    /// An unknown name yields the default theme and an error listing the built-in names.
    public static func load(named name: String, searchPaths: [String]) -> ThemeLoad {
        if name.contains("/") || name.hasSuffix(".toml") {
            return load(file: name)
        }
        for dir in searchPaths {
            let path = (dir as NSString).appendingPathComponent("\(name).toml")
            if FileManager.default.fileExists(atPath: path) {
                return load(file: path)
            }
        }
        if let t = builtin(named: name) {
            return ThemeLoad(theme: t)
        }
        let names = builtinNames.joined(separator: ", ")
        return ThemeLoad(theme: .dark, error: "unknown theme '\(name)' (built in: \(names)); using the default theme (dark)")
    }

    /// Where themes are looked for, in order: `$SAESCOPE_THEMES`, `$XDG_CONFIG_HOME/saescope/themes`
    /// (or `~/.config/saescope/themes`), then `./themes`.
    public static func searchPaths(environment: [String: String]) -> [String] {
        var out: [String] = []
        if let d = environment["SAESCOPE_THEMES"], !d.isEmpty { out.append(d) }
        if let x = environment["XDG_CONFIG_HOME"], !x.isEmpty {
            out.append(x + "/saescope/themes")
        } else if let h = environment["HOME"], !h.isEmpty {
            out.append(h + "/.config/saescope/themes")
        }
        out.append("themes")
        return out
    }

    // MARK: Resolution

    /// Resolves a style for a colour mode.
    ///
    /// - truecolor / palette256: every role gets its colour (nearest xterm-256 index in 256
    ///   mode); unset fg/bg are the theme's text/background.
    /// - palette8: nearest ANSI colour; text and background are the terminal's defaults;
    ///   `selection` becomes reverse and `dimText` the dim attribute (subtle colours collapse).
    /// - monochrome (`NO_COLOR`): no colours. selection -> reverse; title, accent, warning,
    ///   error -> bold; dimText -> dim; ramp shades at or above `monoRampThreshold` -> underline
    ///   (background) or bold (foreground); class colours -> nothing (widgets add glyph cues).
    ///
    /// Text over a ramp background (fg unset or `text`) switches to the background colour when
    /// that contrasts more, so dark text sits on bright shades.
    public func resolve(_ style: Style, mode: ColorMode) -> ResolvedStyle {
        var attrs = style.attributes
        if mode == .monochrome {
            if let fg = style.fg {
                switch fg {
                case .role(.title), .role(.accent), .role(.warning), .role(.error): attrs.insert(.bold)
                case .role(.dimText): attrs.insert(.dim)
                case .ramp(let l) where Ink.rampFraction(l) >= monoRampThreshold: attrs.insert(.bold)
                case .role(.rampEnd): attrs.insert(.bold)
                default: break
                }
            }
            if let bg = style.bg {
                switch bg {
                case .role(.selection), .role(.accent): attrs.insert(.reverse)
                case .ramp(let l) where Ink.rampFraction(l) >= monoRampThreshold: attrs.insert(.underline)
                case .role(.rampEnd): attrs.insert(.underline)
                default: break
                }
            }
            return ResolvedStyle(attributes: attrs)
        }

        let fgInk = style.fg ?? .role(.text)
        let bgInk = style.bg ?? .role(.background)
        var fgRGB = rgb(fgInk)
        let bgRGB = rgb(bgInk)
        var onRamp = false
        if case .ramp = bgInk, fgInk == .role(.text) { onRamp = true }
        if case .role(let r) = bgInk, r == .rampStart || r == .rampEnd, fgInk == .role(.text) { onRamp = true }

        switch mode {
        case .truecolor, .palette256:
            if onRamp, self[.background].contrast(with: bgRGB) > self[.text].contrast(with: bgRGB) {
                fgRGB = self[.background]
            }
            if mode == .truecolor {
                return ResolvedStyle(fg: .rgb(fgRGB), bg: .rgb(bgRGB), attributes: attrs)
            }
            return ResolvedStyle(fg: .indexed(Palette.nearest256(fgRGB)), bg: .indexed(Palette.nearest256(bgRGB)),
                                 attributes: attrs)
        case .palette8:
            var fg: TermColor
            var bg: TermColor
            switch fgInk {
            case .role(.text): fg = .terminalDefault
            case .role(.dimText): fg = .terminalDefault; attrs.insert(.dim)
            default: fg = .indexed(Palette.nearest8(fgRGB))
            }
            switch bgInk {
            case .role(.background): bg = .terminalDefault
            case .role(.selection): bg = .terminalDefault; attrs.insert(.reverse)
            default: bg = .indexed(Palette.nearest8(bgRGB))
            }
            if onRamp, case .indexed(let i) = bg {
                let shade = Palette.ansi8[Int(i)]
                fg = .indexed(shade.contrast(with: Palette.ansi8[0]) > shade.contrast(with: Palette.ansi8[7]) ? 0 : 7)
            }
            if fg == bg, fg != .terminalDefault { fg = .terminalDefault }
            return ResolvedStyle(fg: fg, bg: bg, attributes: attrs)
        case .monochrome:
            return ResolvedStyle(attributes: attrs)  // handled above
        }
    }
}

/// A loaded theme with what went wrong along the way.
public struct ThemeLoad: Sendable {
    public var theme: Theme
    /// Unknown keys and other non-fatal remarks, one line each (each key reported once).
    public var warnings: [String]
    /// Roles the file did not set (they took the default theme's colours).
    public var defaulted: [Role]
    /// Set when the file could not be used; `theme` is then the default theme.
    public var error: String?

    public init(theme: Theme, warnings: [String] = [], defaulted: [Role] = [], error: String? = nil) {
        self.theme = theme
        self.warnings = warnings
        self.defaulted = defaulted
        self.error = error
    }
}

/// A theme file that cannot be used: `message` is one line naming the file and line.
public struct ThemeError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The theme file format: a subset of TOML. `key = "value"` lines (double- or single-quoted
/// strings, or a bare number), `#` comments (also after a value), blank lines. A `[section]`
/// header is reported and ignored. Duplicate keys, unterminated strings, bad colours and any
/// other line are errors.
enum ThemeParser {
    static func parse(_ text: String, file: String, base: Theme) throws -> ThemeLoad {
        var colors = base.colors
        var name = (file as NSString).lastPathComponent
        if name.hasSuffix(".toml") { name = String(name.dropLast(5)) }
        var threshold = base.monoRampThreshold
        var warnings: [String] = []
        var seen = Set<String>()
        var warned = Set<String>()
        var set = Set<Role>()

        func fail(_ line: Int, _ why: String) -> ThemeError {
            ThemeError(message: "\(file):\(line): \(why)")
        }

        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (i, raw) in lines.enumerated() {
            let n = i + 1
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]") else { throw fail(n, "malformed section header \(trimmed)") }
                warnings.append("\(file):\(n): section \(trimmed) ignored (theme keys are top level)")
                continue
            }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw fail(n, "expected key = \"value\", found \(quoted(trimmed))")
            }
            let key = trimmed[..<eq].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw fail(n, "bad key \(quoted(key))")
            }
            let rest = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            let value = try parseValue(rest, fail: { fail(n, $0 + " for '\(key)'") })
            if seen.contains(key) { throw fail(n, "duplicate key '\(key)'") }
            seen.insert(key)

            if let role = Role(themeKey: key) {
                guard case .string(let s) = value, let c = RGB(hex: s) else {
                    throw fail(n, "'\(key)' must be a colour like \"#rrggbb\", found \(value)")
                }
                colors[role] = c
                set.insert(role)
            } else if key == "name" {
                guard case .string(let s) = value, !s.isEmpty else { throw fail(n, "'name' must be a non-empty string") }
                name = s
            } else if key == "description" {
                continue
            } else if key == "mono_ramp_threshold" {
                guard case .number(let x) = value, x >= 0, x <= 1 else {
                    throw fail(n, "'mono_ramp_threshold' must be a number in [0, 1], found \(value)")
                }
                threshold = x
            } else if !warned.contains(key) {
                warned.insert(key)
                warnings.append("\(file):\(n): unknown key '\(key)' ignored")
            }
        }
        let defaulted = Role.allCases.filter { !set.contains($0) }
        return ThemeLoad(theme: Theme(name: name, colors: colors, monoRampThreshold: threshold),
                         warnings: warnings, defaulted: defaulted)
    }

    enum Value: CustomStringConvertible {
        case string(String)
        case number(Double)
        var description: String {
            switch self {
            case .string(let s): return quoted(s)
            case .number(let x): return "\(x)"
            }
        }
    }

    private static func parseValue(_ s: String, fail: (String) -> ThemeError) throws -> Value {
        guard let first = s.first else { throw fail("missing value") }
        var rest: Substring
        let value: Value
        if first == "\"" || first == "'" {
            var out = ""
            var idx = s.index(after: s.startIndex)
            var closed = false
            while idx < s.endIndex {
                let c = s[idx]
                if c == first {
                    closed = true
                    idx = s.index(after: idx)
                    break
                }
                if c == "\\" && first == "\"" {
                    let next = s.index(after: idx)
                    guard next < s.endIndex else { break }
                    switch s[next] {
                    case "\"": out.append("\"")
                    case "\\": out.append("\\")
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    default: throw fail("unsupported escape \\\(s[next])")
                    }
                    idx = s.index(after: next)
                    continue
                }
                out.append(c)
                idx = s.index(after: idx)
            }
            guard closed else { throw fail("unterminated string") }
            value = .string(out)
            rest = s[idx...]
        } else {
            let end = s.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? s.endIndex
            let token = s[..<end]
            guard let x = Double(token) else { throw fail("expected a quoted value, found \(quoted(String(token)))") }
            value = .number(x)
            rest = s[end...]
        }
        let tail = rest.trimmingCharacters(in: .whitespaces)
        if !tail.isEmpty && !tail.hasPrefix("#") {
            throw fail("unexpected text after the value: \(quoted(tail))")
        }
        return value
    }
}

private func quoted(_ s: String) -> String {
    let short = s.count > 30 ? String(s.prefix(30)) + "..." : s
    return "\"" + short + "\""
}
