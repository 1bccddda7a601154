import TUI
import Widgets
import XCTest

/// The activating token of a strip is the most visible one in every theme: per theme, each
/// token's cell as the terminal shows it (colours swapped when reversed) against a golden file,
/// and the firing token checked against its neighbours, including a neighbour shaded higher.
final class TokenStripThemeTests: XCTestCase {
    /// " bennet" fired (0.8); " miss" before it is shaded at the ramp's end (1.0).
    private let tokens = ["[CLS]", " said", " miss", " bennet", ",", " when", " the"]
    private let activations: [Double] = [0, 0.1, 1.0, 0.8, 0.5, 0.2, 0]
    private let firing = 3

    /// Each token's first cell: text, then the colours as shown (after reverse) and attributes.
    private struct ShownCell {
        var token: String
        var fg: TermColor
        var bg: TermColor
        var attributes: Attributes
        var line: String { "\(token.padding(toLength: 8, withPad: " ", startingAt: 0)) fg \(fg)  bg \(bg)  \(attributes)" }
    }

    private func shownCells(theme: Theme, mode: ColorMode) -> [ShownCell] {
        var buffer = Buffer(width: 60, height: 1, monochrome: mode == .monochrome)
        let strip = TokenStrip(tokens: tokens, activations: activations, highlight: firing)
        strip.draw(into: &buffer, rect: buffer.bounds)
        return strip.layout(glyphs: buffer.glyphs, monochrome: buffer.monochrome).enumerated().map { i, t in
            // The token's first non-space cell: leading spaces carry the same style anyway.
            let x = t.x + (t.text.prefix { $0 == " " }.count)
            let resolved = theme.resolve(buffer[x, 0].style, mode: mode)
            let reversed = resolved.attributes.contains(.reverse)
            return ShownCell(token: tokens[i], fg: reversed ? resolved.bg : resolved.fg, bg: reversed ? resolved.fg : resolved.bg,
                             attributes: resolved.attributes)
        }
    }

    private func rgb(_ c: TermColor, theme: Theme, isBackground: Bool) -> RGB {
        switch c {
        case .rgb(let value): return value
        case .indexed(let i): return Palette.xterm256(i)
        case .terminalDefault: return isBackground ? theme[.background] : theme[.text]
        }
    }

    private func check(_ theme: Theme, golden: String, file: StaticString = #filePath, line: UInt = #line) {
        let cells = shownCells(theme: theme, mode: .truecolor)
        assertGolden(cells.map(\.line).joined(separator: "\n") + "\n", named: golden, file: file, line: line)
        let hot = cells[firing]
        XCTAssertEqual(rgb(hot.bg, theme: theme, isBackground: true), theme[.rampEnd],
                       "\(theme.name): the firing token sits on the ramp's end", file: file, line: line)
        XCTAssertTrue(hot.attributes.contains(.bold) && hot.attributes.contains(.underline), "\(theme.name): bold and underlined", file: file, line: line)
        XCTAssertFalse(hot.attributes.contains(.reverse), "\(theme.name): not reversed (reverse moves the ramp onto the text)", file: file, line: line)
        let page = theme[.background]
        let hotStandsOut = rgb(hot.bg, theme: theme, isBackground: true).contrast(with: page)
        let hotText = rgb(hot.fg, theme: theme, isBackground: false).contrast(with: rgb(hot.bg, theme: theme, isBackground: true))
        XCTAssertGreaterThan(hotText, 3, "\(theme.name): the firing token's text reads on its background", file: file, line: line)
        for (i, cell) in cells.enumerated() where i != firing {
            XCTAssertFalse(cell.attributes.contains(.bold) || cell.attributes.contains(.underline) || cell.attributes.contains(.reverse),
                           "\(theme.name): neighbour \(cell.token) is plain", file: file, line: line)
            XCTAssertLessThanOrEqual(rgb(cell.bg, theme: theme, isBackground: true).contrast(with: page), hotStandsOut + 1e-9,
                                     "\(theme.name): neighbour \(cell.token)'s background stands out no more than the firing token's",
                                     file: file, line: line)
        }
    }

    func testFiringTokenIsStrongestInTheDarkTheme() { check(.dark, golden: "token-strip-firing-dark") }
    func testFiringTokenIsStrongestInTheLightTheme() { check(.light, golden: "token-strip-firing-light") }
    func testFiringTokenIsStrongestInTheHighContrastTheme() { check(.highContrast, golden: "token-strip-firing-high-contrast") }

    func testFiringTokenIsStrongestWithoutColour() {
        let cells = shownCells(theme: .dark, mode: .monochrome)
        assertGolden(cells.map(\.line).joined(separator: "\n") + "\n", named: "token-strip-firing-no-color")
        XCTAssertEqual(cells[firing].attributes, [.bold, .reverse, .underline], "bold reverse (and underlined: shaded 0.8)")
        for (i, cell) in cells.enumerated() where i != firing {
            XCTAssertFalse(cell.attributes.contains(.bold) || cell.attributes.contains(.reverse), "neighbour \(cell.token) is at most underlined")
        }
        var buffer = Buffer(width: 60, height: 1, monochrome: true)
        TokenStrip(tokens: tokens, activations: activations, highlight: firing).draw(into: &buffer, rect: buffer.bounds)
        XCTAssertTrue(buffer.render()[0].contains(" [bennet],"), "and bracketed")
    }

    private func assertGolden(_ text: String, named name: String, file: StaticString = #filePath, line: UInt = #line) {
        let path = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Snapshots/\(name).txt").path
        let record = ProcessInfo.processInfo.environment["SAESCOPE_RECORD"] == "1"
        if let failure = SnapshotText.check(text, goldenPath: path, record: record) { XCTFail(failure, file: file, line: line) }
    }
}

/// An anchored strip puts the highlighted token's text at the anchor column whatever its left
/// context: shorter contexts are padded, longer ones cut with an ellipsis.
final class TokenStripAnchorTests: XCTestCase {
    func testHighlightedTokenStartsAtTheAnchor() {
        let strips = [
            TokenStrip(tokens: ["the", " cat", " sat"], highlight: 1, anchor: 12),
            TokenStrip(tokens: [" once", " upon", " a", " time", " the", " cat", " sat", " on"], highlight: 5, anchor: 12),
            TokenStrip(tokens: ["cat", "##s"], highlight: 0, anchor: 12),
            TokenStrip(tokens: [" ben", "net", " said"], highlight: 1, anchor: 12),
        ]
        var buffer = Buffer(width: 30, height: strips.count)
        for (y, strip) in strips.enumerated() { strip.draw(into: &buffer, rect: buffer.bounds.row(y)) }
        let lines = buffer.render()
        XCTAssertEqual(lines, [
            "        the cat sat           ",
            "…a time the cat sat on        ",
            "            cat##s            ",
            "         bennet said          ",
        ])
        for (y, strip) in strips.enumerated() {
            XCTAssertTrue(buffer[12, y].style.attributes.contains(.bold), "line \(y): the highlighted token starts at column 12")
            XCTAssertEqual(strip.token(atColumn: 12, in: buffer.bounds.row(y), glyphs: .unicode, monochrome: false), strip.highlight)
        }
        XCTAssertEqual(strips[1].leftWidth(glyphs: .unicode, monochrome: false), 22, "the context and the token's own leading space")
    }
}
