import App
import TUI
import XCTest

/// Under a non-UTF-8 locale (`LANG=C`) the terminal shows anything outside ASCII as `?`: every
/// screen drawn with the ASCII glyph table must hold ASCII only (the fixture's tokens are ASCII).
final class AsciiScreensTests: XCTestCase {
    private func assertASCII(_ app: AppController, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        for (width, height) in [(80, 24), (160, 48)] {
            let lines = app.frame(width: width, height: height, glyphs: .ascii).render()
            for (y, text) in lines.enumerated() {
                if let bad = text.unicodeScalars.first(where: { !$0.isASCII }) {
                    XCTFail("\(what) \(width)x\(height) line \(y): U+\(String(bad.value, radix: 16, uppercase: true)) in \(text)", file: file, line: line)
                    return
                }
            }
        }
    }

    func testBrowserScreensDrawOnlyASCII() throws {
        let app = try AppFixture.controller()
        assertASCII(app, "features")
        XCTAssertTrue(app.frame(width: 80, height: 24, glyphs: .ascii).render()[0].contains("fixture | AutoEncoder"),
                      "title parts are separated by the ASCII separator")
        app.type(":3\n")
        assertASCII(app, "detail")
        app.press(.char("o"))
        assertASCII(app, "overview")
        app.press(.char("J"))
        assertASCII(app, "jobs")
        app.press(.char("?"))
        assertASCII(app, "help")
    }

    func testCompareAndProbesScreensDrawOnlyASCII() throws {
        let compare = try AppFixture.comparingController()
        assertASCII(compare, "compare")
        let probes = try ProbesFixture.controller()
        probes.press(.char("p"))
        ProbesFixture.settle(probes)
        assertASCII(probes, "probes")
    }
}
