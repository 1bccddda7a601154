import Foundation
import TUI
import Widgets
import XCTest

final class LayoutTests: XCTestCase {
    func testFixedFractionRest() {
        let r = Rect(x: 0, y: 0, width: 100, height: 10)
        let parts = r.columns([.fixed(20), .fraction(0.3), .rest()])
        XCTAssertEqual(parts.map(\.x), [0, 20, 50])
        XCTAssertEqual(parts.map(\.width), [20, 30, 50])
        XCTAssertTrue(parts.allSatisfy { $0.height == 10 && $0.y == 0 })
    }

    func testRestWeightsAndGap() {
        let r = Rect(x: 5, y: 2, width: 40, height: 21)
        let rows = r.rows([.fixed(1), .rest(weight: 2), .rest(weight: 1), .fixed(1)], gap: 1)
        XCTAssertEqual(rows.map(\.height), [1, 10, 6, 1])
        XCTAssertEqual(rows.map(\.y), [2, 4, 15, 22])
        XCTAssertEqual(rows.last!.maxY, r.maxY)
    }

    func testOverflowShrinksLaterParts() {
        let parts = Layout.split(10, [.fixed(6), .fixed(6), .rest()])
        XCTAssertEqual(parts.map(\.length), [6, 4, 0])
        XCTAssertEqual(parts.map(\.offset), [0, 6, 10])
        XCTAssertEqual(Layout.split(10, [.atLeast(4), .rest()]).map(\.length), [7, 3])
    }

    func testRestAbsorbsRounding() {
        let parts = Layout.split(10, [.rest(), .rest(), .rest()])
        XCTAssertEqual(parts.map(\.length), [3, 3, 4])
        XCTAssertEqual(parts.map(\.length).reduce(0, +), 10)
    }

    func testInsetIntersectionCentre() {
        let r = Rect(x: 0, y: 0, width: 10, height: 5)
        XCTAssertEqual(r.inset(by: 1), Rect(x: 1, y: 1, width: 8, height: 3))
        XCTAssertEqual(r.inset(by: 4).height, 0)
        XCTAssertTrue(r.inset(by: 3).isEmpty)
        XCTAssertEqual(r.inset(horizontal: 2), Rect(x: 2, y: 0, width: 6, height: 5))
        XCTAssertEqual(r.intersection(Rect(x: 8, y: 3, width: 5, height: 5)), Rect(x: 8, y: 3, width: 2, height: 2))
        XCTAssertTrue(r.intersection(Rect(x: 20, y: 0, width: 5, height: 5)).isEmpty)
        XCTAssertEqual(r.centered(width: 4, height: 1), Rect(x: 3, y: 2, width: 4, height: 1))
        XCTAssertEqual(r.splitTop(2).rest, Rect(x: 0, y: 2, width: 10, height: 3))
        XCTAssertEqual(r.splitBottom(2).bottom, Rect(x: 0, y: 3, width: 10, height: 2))
        XCTAssertEqual(r.splitRight(3).right, Rect(x: 7, y: 0, width: 3, height: 5))
    }

    func testMinimumSize() {
        let min = MinimumSize(width: 80, height: 24)
        XCTAssertTrue(Rect(width: 80, height: 24).fits(min))
        XCTAssertFalse(Rect(width: 79, height: 40).fits(min))
        XCTAssertFalse(Rect(width: 200, height: 23).fits(min))
    }
}

final class ThemeTests: XCTestCase {
    private var themesDir: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("themes")
    }

    private func tempFile(_ text: String, name: String = "t.toml") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-theme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func testShippedFilesMatchBuiltinsAndAreComplete() throws {
        for name in Theme.builtinNames {
            let path = themesDir.appendingPathComponent("\(name).toml").path
            let text = try String(contentsOfFile: path, encoding: .utf8)
            XCTAssertEqual(text, Theme.builtinSource(named: name), "themes/\(name).toml differs from the embedded copy")
            let load = Theme.load(file: path)
            XCTAssertNil(load.error)
            XCTAssertEqual(load.warnings, [])
            XCTAssertEqual(load.defaulted, [], "\(name) leaves roles unset")
            XCTAssertEqual(load.theme, Theme.builtin(named: name))
            XCTAssertEqual(load.theme.name, name)
        }
        XCTAssertEqual(Theme.dark.colors.count, Role.allCases.count)
    }

    func testTextContrastOfShippedThemes() {
        for t in [Theme.dark, .light, .highContrast] {
            XCTAssertGreaterThan(t[.text].contrast(with: t[.background]), 7, t.name)
            XCTAssertGreaterThan(t[.text].contrast(with: t[.selection]), 4.5, t.name)
            XCTAssertGreaterThan(t[.dimText].contrast(with: t[.background]), 3, t.name)
        }
        // The high-contrast ramp's lightness rises monotonically.
        let ramp = (0...10).map { Theme.highContrast.rampColor(Double($0) / 10).luminance }
        XCTAssertEqual(ramp, ramp.sorted())
    }

    func testMissingKeysFallBackUnknownKeysReportedOnce() throws {
        let text = """
        name = "mine"
        accent = "#ff0000"   # red
        sparkle = "#123456"
        sparkle2 = 'x'
        """
        let load = try Theme.parse(text, file: "mine.toml")
        XCTAssertEqual(load.theme.name, "mine")
        XCTAssertEqual(load.theme[.accent], RGB(255, 0, 0))
        XCTAssertEqual(load.theme[.text], Theme.dark[.text])
        XCTAssertEqual(load.warnings, ["mine.toml:3: unknown key 'sparkle' ignored", "mine.toml:4: unknown key 'sparkle2' ignored"])
        XCTAssertEqual(load.defaulted.count, Role.allCases.count - 1)
    }

    func testBrokenFilesGiveOneLineErrorAndTheDefault() throws {
        let cases: [(String, String)] = [
            ("accent = \"#ff00\"", "t.toml:1: 'accent' must be a colour like \"#rrggbb\", found \"#ff00\"; using the default theme (dark)"),
            ("accent = \"#ff0000", "t.toml:1: unterminated string for 'accent'; using the default theme (dark)"),
            ("text = \"#fff\"\ntext = \"#000\"", "t.toml:2: duplicate key 'text'; using the default theme (dark)"),
            ("this is not toml", "t.toml:1: expected key = \"value\", found \"this is not toml\"; using the default theme (dark)"),
            ("accent = #ff0000", "t.toml:1: expected a quoted value, found \"#ff0000\" for 'accent'; using the default theme (dark)"),
            ("mono_ramp_threshold = 2", "t.toml:1: 'mono_ramp_threshold' must be a number in [0, 1], found 2.0; using the default theme (dark)"),
        ]
        for (text, message) in cases {
            let path = try tempFile(text)
            let load = Theme.load(file: path)
            XCTAssertEqual(load.theme, Theme.dark)
            let expected = message.replacingOccurrences(of: "t.toml", with: path)
            XCTAssertEqual(load.error, expected)
            XCTAssertFalse(load.error!.contains("\n"))
        }
        let missing = Theme.load(file: "/nonexistent/x.toml")
        XCTAssertEqual(missing.error, "/nonexistent/x.toml: cannot read the theme file; using the default theme (dark)")
    }

    func testLoadByNameFromSearchPathThenBuiltin() throws {
        let path = try tempFile("title = \"#010203\"\n", name: "light.toml")
        let dir = (path as NSString).deletingLastPathComponent
        let override = Theme.load(named: "light", searchPaths: [dir])
        XCTAssertNil(override.error)
        XCTAssertEqual(override.theme[.title], RGB(1, 2, 3))
        XCTAssertEqual(override.theme.name, "light")
        XCTAssertEqual(Theme.load(named: "high-contrast", searchPaths: [dir]).theme, Theme.highContrast)
        let unknown = Theme.load(named: "solarized", searchPaths: [dir])
        XCTAssertEqual(unknown.theme, Theme.dark)
        XCTAssertEqual(unknown.error, "unknown theme 'solarized' (built in: dark, light, high-contrast); using the default theme (dark)")
        XCTAssertEqual(Theme.searchPaths(environment: ["HOME": "/h"]), ["/h/.config/saescope/themes", "themes"])
    }

    func testResolveAcrossModes() {
        let t = Theme.dark
        let sel = Style(bg: .role(.selection))
        XCTAssertEqual(t.resolve(sel, mode: .monochrome), ResolvedStyle(attributes: .reverse))
        XCTAssertEqual(t.resolve(.fg(.title), mode: .monochrome).attributes, .bold)
        XCTAssertEqual(t.resolve(.fg(.dimText), mode: .monochrome).attributes, .dim)
        XCTAssertEqual(t.resolve(.shaded(0.3), mode: .monochrome).attributes, [])
        XCTAssertEqual(t.resolve(.shaded(0.7), mode: .monochrome).attributes, .underline)
        XCTAssertEqual(t.resolve(.fg(.positive), mode: .monochrome), ResolvedStyle())
        let tc = t.resolve(Style(.accent, [.bold]), mode: .truecolor)
        XCTAssertEqual(tc.fg, .rgb(t[.accent]))
        XCTAssertEqual(tc.bg, .rgb(t[.background]))
        XCTAssertEqual(tc.attributes, .bold)
        XCTAssertEqual(t.resolve(.plain, mode: .palette8), ResolvedStyle())
        XCTAssertEqual(t.resolve(sel, mode: .palette8).attributes, .reverse)
        XCTAssertEqual(t.resolve(.fg(.error), mode: .palette8).fg, .indexed(1))
        // Text on the bright end of the dark ramp turns dark; on the dark end it stays light.
        XCTAssertEqual(t.resolve(.shaded(1), mode: .truecolor).fg, .rgb(t[.background]))
        XCTAssertEqual(t.resolve(.shaded(0.05), mode: .truecolor).fg, .rgb(t[.text]))
    }

    func testPalettes() {
        XCTAssertEqual(Palette.nearest256(RGB(255, 0, 0)), 196)
        XCTAssertEqual(Palette.nearest256(RGB(0, 0, 0)), 16)
        XCTAssertEqual(Palette.nearest256(RGB(255, 255, 255)), 231)
        XCTAssertEqual(Palette.nearest256(RGB(128, 128, 128)), 244)
        XCTAssertEqual(Palette.nearest256(RGB(0x5f, 0x87, 0xaf)), 67)
        XCTAssertEqual(Palette.nearest8(RGB(250, 10, 10)), 1)
        XCTAssertEqual(Palette.nearest8(RGB(20, 20, 30)), 0)
        XCTAssertEqual(Palette.xterm256(196), RGB(255, 0, 0))
    }

    func testRampBlend() {
        let t = Theme.dark
        XCTAssertEqual(t.rampColor(0), t[.rampStart])
        XCTAssertEqual(t.rampColor(1), t[.rampEnd])
        XCTAssertEqual(t.rampColor(-3), t[.rampStart])
        XCTAssertEqual(t.rampColor(.nan), t[.rampStart])
        XCTAssertEqual(Ink.ramp(fraction: 0), .ramp(0))
        XCTAssertEqual(Ink.ramp(fraction: 1), .ramp(15))
        XCTAssertEqual(Ink.ramp(fraction: 0.5), .ramp(8))
        XCTAssertEqual(RGB(hex: "#abc"), RGB(0xaa, 0xbb, 0xcc))
        XCTAssertEqual(RGB(hex: "#16181d")?.hex, "#16181d")
        XCTAssertNil(RGB(hex: "#12345g"))
    }

    func testDetection() {
        XCTAssertEqual(ColorMode.detect(environment: ["NO_COLOR": "1", "COLORTERM": "truecolor"]), .monochrome)
        XCTAssertEqual(ColorMode.detect(environment: ["NO_COLOR": "", "COLORTERM": "truecolor"]), .truecolor)
        XCTAssertEqual(ColorMode.detect(environment: ["TERM": "xterm-256color"]), .palette256)
        XCTAssertEqual(ColorMode.detect(environment: ["TERM": "xterm"]), .palette8)
        XCTAssertEqual(ColorMode.detect(environment: ["TERM": "dumb"]), .monochrome)
        XCTAssertEqual(ColorMode.detect(environment: ["TERM": "xterm"], terminalColors: 256), .palette256)
        XCTAssertEqual(Glyphs.detect(environment: ["LANG": "en_US.UTF-8"]), .unicode)
        XCTAssertEqual(Glyphs.detect(environment: ["LC_ALL": "C", "LANG": "en_US.UTF-8"]), .ascii)
        XCTAssertEqual(Glyphs.detect(environment: [:]), .ascii)
    }
}

enum Command: Hashable, Sendable {
    case up, down, top, bottom, pageUp, pageDown, search, next, previous, help, quit, mark, sort, jump
}

final class KeymapTests: XCTestCase {
    static func sampleKeymap() -> Keymap<Command> {
        Keymap<Command>([
            Binding([.up, .char("k")], "up", .up, label: "↑↓/jk", hint: true, group: "Move"),
            Binding([.down, .char("j")], "down", .down, hint: false, group: "Move"),
            Binding([.char("g"), .home], "first", .top, hint: false, group: "Move"),
            Binding([.char("G"), .end], "last", .bottom, hint: false, group: "Move"),
            Binding(.pageUp, "page up", .pageUp, hint: false, group: "Move"),
            Binding(.pageDown, "page down", .pageDown, hint: false, group: "Move"),
            Binding(.char("/"), "search", .search, group: "Find"),
            Binding(.char("n"), "next", .next, hint: false, group: "Find"),
            Binding(.char("N"), "previous", .previous, hint: false, group: "Find"),
            Binding(.char(":"), "jump to id", .jump, group: "Find"),
            Binding(.char(" "), "mark", .mark, group: "Features"),
            Binding(.char("s"), "sort", .sort, group: "Features"),
            Binding(.char("?"), "help", .help, group: "General"),
            Binding([.char("q"), .ctrl("c")], "quit", .quit, label: "q", group: "General"),
        ])
    }

    func testLookup() {
        let m = KeymapTests.sampleKeymap()
        XCTAssertEqual(m.command(for: .char("k")), .up)
        XCTAssertEqual(m.command(for: .down), .down)
        XCTAssertEqual(m.command(for: .ctrl("c")), .quit)
        XCTAssertNil(m.command(for: .char("z")))
        let screen = Keymap<Command>([Binding(.char("q"), "back", .top)])
        let layered = screen.layered(over: m)
        XCTAssertEqual(layered.command(for: .char("q")), .top)
        XCTAssertEqual(layered.command(for: .ctrl("c")), .quit)
        XCTAssertEqual(layered.command(for: .char("/")), .search)
    }

    func testKeyNames() {
        XCTAssertEqual(Key(name: "q"), .char("q"))
        XCTAssertEqual(Key(name: "C-c"), .ctrl("c"))
        XCTAssertEqual(Key(name: "ctrl-x"), .ctrl("x"))
        XCTAssertEqual(Key(name: "PgDn"), .pageDown)
        XCTAssertEqual(Key(name: "S-Tab"), .backTab)
        XCTAssertEqual(Key(name: "F12"), .function(12))
        XCTAssertEqual(Key(name: "Space"), .char(" "))
        XCTAssertNil(Key(name: "F99"))
        XCTAssertNil(Key(name: "Hyper-x"))
        XCTAssertEqual(Key.up.label(), "↑")
        XCTAssertEqual(Key.up.label(.ascii), "Up")
        XCTAssertEqual(Key.char(" ").label(), "Space")
        XCTAssertEqual(Key.mouse(MouseEvent(.wheelUp, x: 3, y: 4)), .mouse(MouseEvent(.wheelUp, x: 3, y: 4)))
    }

    func testHintBarFitsWidth() {
        let m = KeymapTests.sampleKeymap()
        XCTAssertEqual(m.hintBar(width: 80).line, "↑↓/jk up  / search  : jump to id  Space mark  s sort  ? help  q quit")
        // Entries that do not fit are skipped; later, shorter ones still fit.
        XCTAssertEqual(m.hintBar(width: 30).line, "↑↓/jk up  / search  Space mark")
        XCTAssertEqual(m.hintBar(width: 29).line, "↑↓/jk up  / search  s sort")
        XCTAssertEqual(m.hintBar(width: 10).line, "↑↓/jk up")
        XCTAssertEqual(m.hintBar(width: 3).line, "")
        for w in 0..<90 { XCTAssertLessThanOrEqual(DisplayWidth.of(m.hintBar(width: w).line), w) }
    }

    func testHelpLines() {
        let lines = KeymapTests.sampleKeymap().helpLines(glyphs: .ascii)
        XCTAssertEqual(Array(lines.prefix(4)), ["Move", "  Up/k    up", "  Down/j  down", "  g/Home  first"])
        XCTAssertTrue(lines.contains("General"))
        XCTAssertTrue(lines.contains("  q/C-c   quit"), "\(lines)")
    }

    func testConsecutiveDigitKeysReadAsARange() {
        let digits = Binding<Command>((1...9).map { Key.char(Character(String($0))) }, "open", .jump)
        XCTAssertEqual(digits.keysLabel(.ascii), "1-9")
        XCTAssertEqual(Binding<Command>([.char("1"), .char("3"), .char("4")], "x", .jump).keysLabel(.ascii), "1/3/4")
        XCTAssertEqual(Binding<Command>([.char("1"), .char("2")], "x", .jump).keysLabel(.ascii), "1/2")
    }
}

final class TableBehaviourTests: XCTestCase {
    func testSelectionScrolling() {
        var s = TableState(selected: 50)
        s.scrollToSelection(visibleRows: 10, rowCount: 100)
        XCTAssertEqual(s.offset, 41)
        s.move(by: -5, rowCount: 100)
        s.scrollToSelection(visibleRows: 10, rowCount: 100)
        XCTAssertEqual(s.offset, 41)  // 45 is still visible
        s.move(by: -10, rowCount: 100)
        s.scrollToSelection(visibleRows: 10, rowCount: 100)
        XCTAssertEqual(s.offset, 35)
        s.page(1, visibleRows: 10, rowCount: 100)
        XCTAssertEqual(s.selected, 44)
        s.moveToEnd(rowCount: 100)
        s.scrollToSelection(visibleRows: 10, rowCount: 100)
        XCTAssertEqual(s.offset, 90)
        s.move(by: 1000, rowCount: 100)
        XCTAssertEqual(s.selected, 99)
        // Fewer rows than before: selection and offset are clamped.
        s.scrollToSelection(visibleRows: 10, rowCount: 20)
        XCTAssertEqual(s.selected, 19)
        XCTAssertEqual(s.offset, 10)
    }

    func testOnlyVisibleRowsAreRequested() {
        final class Counter: @unchecked Sendable { var rows = Set<Int>() }
        let counter = Counter()
        var t = Table(columns: [Table.Column("id", width: .fixed(8)), Table.Column("v")], rowCount: 100_000) { r, c in
            counter.rows.insert(r)
            return "\(r):\(c)"
        }
        t.isMarked = { $0 % 2 == 0 }
        var b = Buffer(width: 30, height: 12)
        var s = TableState(selected: 73_000)
        t.draw(into: &b, rect: b.bounds, state: &s)
        XCTAssertEqual(counter.rows, Set(72_990...73_000))
        XCTAssertEqual(s.offset, 72_990)
        XCTAssertEqual(t.row(at: Point(x: 5, y: 1), in: b.bounds, state: s), 72_990)
        XCTAssertNil(t.row(at: Point(x: 5, y: 0), in: b.bounds, state: s))  // the header
        XCTAssertEqual(b[0, 11].grapheme, "●")  // row 73000 is marked
        XCTAssertEqual(b[0, 10].grapheme, " ")
        XCTAssertEqual(b[3, 11].style.bg, .role(.selection))
    }

    func testColumnFrames() {
        var t = Table(columns: [Table.Column("a", width: .fixed(5)), Table.Column("b", width: .flex(weight: 2, min: 2)),
                                Table.Column("c", width: .flex(weight: 1, min: 2))], rowCount: 3) { _, _ in "" }
        t.showScrollbar = false
        let f = t.columnFrames(in: Rect(width: 30, height: 5))
        XCTAssertEqual(f.map(\.x), [0, 6, 22])
        XCTAssertEqual(f.map(\.width), [5, 15, 8])
    }

    func testNumberFormats() {
        XCTAssertEqual(NumberFormat.compact(0), "0")
        XCTAssertEqual(NumberFormat.compact(0.125), "0.125")
        XCTAssertEqual(NumberFormat.compact(12.5), "12.5")
        XCTAssertEqual(NumberFormat.compact(1234), "1234")
        XCTAssertEqual(NumberFormat.compact(12345), "12.3k")
        XCTAssertEqual(NumberFormat.compact(999_999), "1M")
        XCTAssertEqual(NumberFormat.compact(4_500_000), "4.5M")
        XCTAssertEqual(NumberFormat.compact(0.000012), "1.2e-5")
        XCTAssertEqual(NumberFormat.compact(-3.5), "-3.5")
        XCTAssertEqual(NumberFormat.compact(.nan), "nan")
        XCTAssertEqual(NumberFormat.count(12345), "12.3k")
        XCTAssertEqual(NumberFormat.percent(0.999), "99%")
        XCTAssertEqual(Ticks.nice(0, 100, maxCount: 5), [0, 25, 50, 75, 100])
        XCTAssertEqual(Ticks.nice(-2.3, 3.1, maxCount: 4), [-2, 0, 2])
        XCTAssertEqual(Ticks.niceCeil(80), 100)
        XCTAssertEqual(Ticks.niceCeil(17), 20)
    }

    func testDensityBinning() {
        let b = DensityHistogram.bin([0, 0, 1e-3, 1e-2, 0.5, 1, .nan], bins: 3, range: -3...0)
        XCTAssertEqual(b.dead, 2)
        XCTAssertEqual(b.counts, [1, 1, 2])
        XCTAssertEqual(b.edges, [-3, -2, -1, 0])
    }
}
