import XCTest
import TUI
@testable import Terminal

final class ColorMappingTests: XCTestCase {
    func testDefaultColour() {
        XCTAssertEqual(ColorMapping.cursesColor(.terminalDefault, colors: 256), -1)
        XCTAssertEqual(ColorMapping.cursesColor(.terminalDefault, colors: 8), -1)
        // Without use_default_colors: classic white on black.
        XCTAssertEqual(ColorMapping.cursesColor(.terminalDefault, colors: 8, defaultColors: false, foreground: true), 7)
        XCTAssertEqual(ColorMapping.cursesColor(.terminalDefault, colors: 8, defaultColors: false, foreground: false), 0)
    }

    func testIndexedOn256Colours() {
        for i: UInt8 in [0, 7, 15, 16, 196, 231, 232, 255] {
            XCTAssertEqual(ColorMapping.cursesColor(.indexed(i), colors: 256), Int32(i))
        }
    }

    func testIndexedOn8Colours() {
        for i: UInt8 in 0...7 { XCTAssertEqual(ColorMapping.cursesColor(.indexed(i), colors: 8), Int32(i)) }
        XCTAssertEqual(ColorMapping.cursesColor(.indexed(9), colors: 8), 1)   // bright red -> red
        XCTAssertEqual(ColorMapping.cursesColor(.indexed(15), colors: 8), 7)
        XCTAssertEqual(ColorMapping.cursesColor(.indexed(196), colors: 8), 1) // cube red
        XCTAssertEqual(ColorMapping.cursesColor(.indexed(21), colors: 8), 4)  // cube blue
        XCTAssertEqual(ColorMapping.cursesColor(.indexed(16), colors: 8), 0)  // cube black
        XCTAssertEqual(ColorMapping.cursesColor(.indexed(255), colors: 8), 7) // light grey
        // 16-colour terminals keep the bright colours.
        XCTAssertEqual(ColorMapping.cursesColor(.indexed(9), colors: 16), 9)
    }

    func testRGB() {
        let orange = RGB(255, 135, 0)
        XCTAssertEqual(ColorMapping.cursesColor(.rgb(orange), colors: 256), Int32(Palette.nearest256(orange)))
        XCTAssertEqual(ColorMapping.cursesColor(.rgb(orange), colors: 256), 208)
        XCTAssertEqual(ColorMapping.cursesColor(.rgb(RGB(0, 0, 0)), colors: 256), 16)
        XCTAssertEqual(ColorMapping.cursesColor(.rgb(RGB(250, 0, 0)), colors: 8), 1)
        XCTAssertEqual(ColorMapping.cursesColor(.rgb(orange), colors: 8), Int32(Palette.nearest8(orange)))
        // 88-colour terminals have no 256 cube: ANSI colours.
        XCTAssertEqual(ColorMapping.cursesColor(.rgb(RGB(0, 0, 240)), colors: 88), 4)
    }

    func testNoColours() {
        XCTAssertEqual(ColorMapping.cursesColor(.indexed(3), colors: 0), -1)
        XCTAssertEqual(ColorMapping.cursesColor(.rgb(RGB(1, 2, 3)), colors: 2), -1)
    }

    /// Every style of every built-in theme maps to valid curses colours in 256 and 8 colours.
    func testThemesResolveToValidNumbers() {
        var styles: [Style] = [.plain]
        for r in Role.allCases {
            styles.append(.fg(r))
            styles.append(.bg(r))
        }
        for l in 0..<Ink.rampSteps { styles.append(Style(fg: .role(.text), bg: .ramp(UInt8(l)))) }
        for theme in [Theme.dark, .light, .highContrast] {
            for (mode, colors) in [(ColorMode.palette256, 256), (.palette8, 8)] {
                for st in styles {
                    let r = theme.resolve(st, mode: mode)
                    for c in [r.fg, r.bg] {
                        let n = ColorMapping.cursesColor(c, colors: colors)
                        XCTAssertTrue(n >= -1 && n < colors, "\(theme.name) \(mode) \(st) -> \(n)")
                    }
                }
            }
        }
    }
}

final class ColorPairCacheTests: XCTestCase {
    func testDefaultPairIsZeroAndNeverDefined() {
        var cache = ColorPairCache(capacity: 256)
        var defined: [Int32] = []
        XCTAssertEqual(cache.pair(fg: -1, bg: -1) { p, _, _ in defined.append(p); return true }, 0)
        XCTAssertTrue(defined.isEmpty)
    }

    func testPairsAreAllocatedOnceInOrder() {
        var cache = ColorPairCache(capacity: 256)
        var defined: [[Int32]] = []
        let define: (Int32, Int32, Int32) -> Bool = { p, f, b in defined.append([p, f, b]); return true }
        XCTAssertEqual(cache.pair(fg: 196, bg: -1, define: define), 1)
        XCTAssertEqual(cache.pair(fg: -1, bg: 21, define: define), 2)
        XCTAssertEqual(cache.pair(fg: 196, bg: -1, define: define), 1)
        XCTAssertEqual(cache.pair(fg: 21, bg: 196, define: define), 3)
        XCTAssertEqual(defined, [[1, 196, -1], [2, -1, 21], [3, 21, 196]])
        XCTAssertEqual(cache.allocated, 3)
    }

    func testExhaustionFallsBackToPairZero() {
        var cache = ColorPairCache(capacity: 3)  // pairs 1 and 2 usable
        var calls = 0
        let define: (Int32, Int32, Int32) -> Bool = { _, _, _ in calls += 1; return true }
        XCTAssertEqual(cache.pair(fg: 1, bg: 0, define: define), 1)
        XCTAssertEqual(cache.pair(fg: 2, bg: 0, define: define), 2)
        XCTAssertEqual(cache.pair(fg: 3, bg: 0, define: define), 0)
        XCTAssertEqual(cache.pair(fg: 3, bg: 0, define: define), 0)
        XCTAssertEqual(cache.pair(fg: 1, bg: 0, define: define), 1, "earlier pairs are kept, never redefined")
        XCTAssertEqual(calls, 2)
    }

    func testFailedDefinitionFallsBackWithoutUsingANumber() {
        var cache = ColorPairCache(capacity: 256)
        XCTAssertEqual(cache.pair(fg: 300, bg: 0) { _, _, _ in false }, 0)
        XCTAssertEqual(cache.pair(fg: 5, bg: 0) { _, _, _ in true }, 1)
    }

    func testNoColoursMeansPairZero() {
        var cache = ColorPairCache(capacity: 0)
        XCTAssertEqual(cache.pair(fg: 1, bg: 2) { _, _, _ in true }, 0)
    }
}
