@testable import TUI
import XCTest

final class DisplayWidthTests: XCTestCase {
    func testASCIIAndLatin() {
        XCTAssertEqual(DisplayWidth.of("hello"), 5)
        XCTAssertEqual(DisplayWidth.of(""), 0)
        XCTAssertEqual(DisplayWidth.of("naïve résumé"), 12)
        XCTAssertEqual(DisplayWidth.of("\u{00AD}"), 1)  // soft hyphen, as terminals draw it
    }

    func testCJKAndFullwidth() {
        XCTAssertEqual(DisplayWidth.of("中文"), 4)
        XCTAssertEqual(DisplayWidth.of("東京 is"), 7)
        XCTAssertEqual(DisplayWidth.of("ＡＢＣ"), 6)  // fullwidth forms
        XCTAssertEqual(DisplayWidth.of("ｱｲｳ"), 3)  // halfwidth katakana
        XCTAssertEqual(DisplayWidth.of("한국어"), 6)
        XCTAssertEqual(DisplayWidth.of("\u{3000}"), 2)  // ideographic space
        XCTAssertEqual(DisplayWidth.of("\u{2A6D6}"), 2)  // CJK extension B
        XCTAssertEqual(DisplayWidth.of("\u{1100}\u{1161}\u{11A8}"), 2)  // conjoining jamo: one syllable
    }

    func testEmoji() {
        XCTAssertEqual(DisplayWidth.of("😀"), 2)
        XCTAssertEqual(DisplayWidth.of("👍🏽"), 2)  // skin tone modifier
        XCTAssertEqual(DisplayWidth.of("👨‍👩‍👧"), 2)  // ZWJ sequence
        XCTAssertEqual(DisplayWidth.of("🇩🇪"), 2)  // flag
        XCTAssertEqual(DisplayWidth.of("❤️"), 2)  // text-default + VS16
        XCTAssertEqual(DisplayWidth.of("❤"), 1)  // text presentation
        XCTAssertEqual(DisplayWidth.of("1️⃣"), 2)  // keycap
        XCTAssertEqual(DisplayWidth.of("\u{1FAE8}"), 2)  // Unicode 15 emoji
    }

    func testCombiningAndZeroWidth() {
        XCTAssertEqual(DisplayWidth.of("e\u{301}"), 1)
        XCTAssertEqual(DisplayWidth.of("a\u{300}\u{316}\u{317}"), 1)
        XCTAssertEqual(DisplayWidth.of(Unicode.Scalar(0x301)!), 0)
        XCTAssertEqual(DisplayWidth.of(Unicode.Scalar(0x200D)!), 0)  // ZWJ
        XCTAssertEqual(DisplayWidth.of(Unicode.Scalar(0xFE0F)!), 0)
        XCTAssertEqual(DisplayWidth.of("a\u{200B}b"), 2)  // zero width space
        XCTAssertEqual(DisplayWidth.of("\u{301}"), 0)  // a lone mark
    }

    func testControlsMeasureOne() {
        XCTAssertEqual(DisplayWidth.of("a\tb"), 3)
        XCTAssertEqual(DisplayWidth.of("\r\n"), 1)  // one grapheme cluster, one replacement glyph
    }

    func testTableIsSortedAndDisjoint() {
        let t = DisplayWidth.table
        XCTAssertEqual(t.count % 3, 0)
        var prevHi: UInt32? = nil
        for i in stride(from: 0, to: t.count, by: 3) {
            XCTAssertLessThanOrEqual(t[i], t[i + 1])
            if let p = prevHi { XCTAssertGreaterThan(t[i], p) }
            prevHi = t[i + 1]
            XCTAssertTrue(t[i + 2] == 0 || t[i + 2] == 2)
        }
    }
}

final class BufferTests: XCTestCase {
    func testPutASCIIAndClip() {
        var b = Buffer(width: 10, height: 2)
        let end = b.put("hello world", at: Point(x: 2, y: 0))
        XCTAssertEqual(end, 13)
        XCTAssertEqual(b.render(), ["  hello wo", "          "])
        b.put("abcdef", at: Point(x: -3, y: 1))
        XCTAssertEqual(b.renderRow(1), "def       ")
        b.put("XYZ", at: Point(x: 0, y: 5))  // outside: nothing
        b.put("clip", at: Point(x: 4, y: 1), clip: Rect(x: 5, y: 1, width: 2, height: 1))
        XCTAssertEqual(b.renderRow(1), "def  li   ")
    }

    func testWideCharacterAtRightEdgeBecomesSpace() {
        var b = Buffer(width: 5, height: 1)
        b.put("ab東京", at: Point(x: 0, y: 0))
        // 東 fits in columns 2-3; 京 would need columns 4-5: a space at column 4.
        XCTAssertEqual(b.render(), ["ab東 "])
        XCTAssertEqual(b[2, 0].width, 2)
        XCTAssertTrue(b[3, 0].isContinuation)
        XCTAssertEqual(b[4, 0].grapheme, " ")
        var c = Buffer(width: 10, height: 1)
        c.put("東京", at: Point(x: 0, y: 0), clip: Rect(x: 0, y: 0, width: 3, height: 1))
        XCTAssertEqual(c.render(), ["東        "])
    }

    func testWideCharacterStraddlingLeftClipEdge() {
        var b = Buffer(width: 6, height: 1)
        b.put("東京x", at: Point(x: 0, y: 0), clip: Rect(x: 1, y: 0, width: 5, height: 1))
        XCTAssertEqual(b.render(), ["  京x "])
        var c = Buffer(width: 4, height: 1)
        c.put("東x", at: Point(x: -1, y: 0))
        XCTAssertEqual(c.render(), [" x  "])
    }

    func testOverwritingHalfOfAWideCharacter() {
        var b = Buffer(width: 6, height: 1)
        b.put("東京", at: Point(x: 0, y: 0))
        b.put("x", at: Point(x: 1, y: 0))  // right half of 東
        XCTAssertEqual(b.render(), [" x京  "])
        b.put("y", at: Point(x: 2, y: 0))  // left half of 京
        XCTAssertEqual(b.render(), [" xy   "])
        XCTAssertFalse(b[3, 0].isContinuation)
        b.put("中", at: Point(x: 3, y: 0))
        b.put("文", at: Point(x: 2, y: 0))  // lands on y and the left half of 中
        XCTAssertEqual(b.render(), [" x文  "])
        for x in 0..<6 where b[x, 0].isContinuation { XCTAssertEqual(b[x - 1, 0].width, 2) }
    }

    func testCombiningAndEmojiCells() {
        var b = Buffer(width: 8, height: 1)
        b.put("e\u{301}👨‍👩‍👧!", at: Point(x: 0, y: 0))
        XCTAssertEqual(b[0, 0].grapheme, "e\u{301}")
        XCTAssertEqual(b[1, 0].grapheme, "👨‍👩‍👧")
        XCTAssertEqual(b[1, 0].width, 2)
        XCTAssertEqual(b[3, 0].grapheme, "!")
        XCTAssertEqual(b.render(), ["e\u{301}👨‍👩‍👧!    "])
    }

    func testControlCharactersAreReplaced() {
        var b = Buffer(width: 4, height: 1)
        b.put("a\nb", at: Point(x: 0, y: 0))
        XCTAssertEqual(b.render(), ["a\u{FFFD}b "])
        var c = Buffer(width: 4, height: 1, glyphs: .ascii)
        c.put("a\tb", at: Point(x: 0, y: 0))
        XCTAssertEqual(c.render(), ["a?b "])
    }

    func testStyleMergeKeepsBackground() {
        var b = Buffer(width: 4, height: 1)
        b.fill(b.bounds, style: .bg(.selection))
        b.put("ab", at: Point(x: 0, y: 0), style: Style(.accent, [.bold]))
        XCTAssertEqual(b[0, 0].style, Style(fg: .role(.accent), bg: .role(.selection), attributes: .bold))
        XCTAssertEqual(b[3, 0].style, Style.bg(.selection))
        b.clear()
        XCTAssertEqual(b[0, 0], Cell.blank)
    }

    func testFillWithWideCharacter() {
        var b = Buffer(width: 5, height: 1)
        b.fill(b.bounds, with: "京")
        XCTAssertEqual(b.render(), ["京京 "])
    }

    func testRenderLinesHaveBufferWidth() {
        var b = Buffer(width: 7, height: 3)
        b.put("東京😀x", at: Point(x: 0, y: 0))
        b.put("e\u{301}e\u{301}", at: Point(x: 5, y: 1))
        for l in b.render() { XCTAssertEqual(DisplayWidth.of(l), 7) }
    }

    func testDiff() {
        var a = Buffer(width: 10, height: 3)
        a.put("hello", at: Point(x: 0, y: 0))
        var b = a
        XCTAssertTrue(b.diff(from: a).isEmpty)
        b.put("J", at: Point(x: 0, y: 0))
        b.put("y", at: Point(x: 4, y: 0))  // gap of 3 unchanged cells: merged
        b.put("Z", at: Point(x: 9, y: 2))
        let runs = b.diff(from: a)
        XCTAssertEqual(runs.map(\.x), [0, 9])
        XCTAssertEqual(runs.map(\.y), [0, 2])
        XCTAssertEqual(runs.map(\.text), ["Jelly", "Z"])
        let apart = b.diff(from: a, mergeGap: 0)
        XCTAssertEqual(apart.map(\.text), ["J", "y", "Z"])
    }

    func testDiffKeepsWideCharactersWhole() {
        var a = Buffer(width: 6, height: 1)
        a.put("ab東cd", at: Point(x: 0, y: 0))
        var b = a
        b.put("京", at: Point(x: 2, y: 0))
        let runs = b.diff(from: a, mergeGap: 0)
        XCTAssertEqual(runs.count, 1)
        XCTAssertEqual(runs[0].x, 2)
        XCTAssertEqual(runs[0].cells.count, 2)
        XCTAssertEqual(runs[0].text, "京")
        // A style change on the continuation cell only still starts the run at the lead.
        var c = a
        c.applyStyle(.fg(.accent), to: Rect(x: 3, y: 0, width: 1, height: 1))
        let r2 = c.diff(from: a, mergeGap: 0)
        XCTAssertEqual(r2.first?.x, 2)
        XCTAssertEqual(r2.first?.text, "東")
    }

    func testDiffOfDifferentSizesIsEverything() {
        let a = Buffer(width: 4, height: 2)
        var b = Buffer(width: 5, height: 2)
        b.put("x", at: Point(x: 0, y: 0))
        let runs = b.diff(from: a)
        XCTAssertEqual(runs.count, 2)
        XCTAssertEqual(runs.map(\.cells.count), [5, 5])
    }

    func testBlitRepairsCutWideCharacters() {
        var small = Buffer(width: 4, height: 1)
        small.put("東京", at: Point(x: 0, y: 0))
        var big = Buffer(width: 5, height: 1)
        big.blit(small, at: Point(x: 2, y: 0))
        XCTAssertEqual(big.render(), ["  東 "])
    }

    func testStyleMap() {
        var b = Buffer(width: 6, height: 2)
        b.put("ab", at: Point(x: 0, y: 0), style: Style(.title, [.bold]))
        b.put("東", at: Point(x: 3, y: 1), style: .shaded(1))
        let m = b.renderStyles()
        XCTAssertEqual(m.grid, ["aa....", "...bb."])
        XCTAssertEqual(m.legend, ["a = title bold", "b = -/ramp15"])
    }

    func testTextHelpers() {
        XCTAssertEqual(Text.truncate("abcdef", columns: 4), "abc…")
        XCTAssertEqual(Text.truncate("東京都", columns: 4), "東…")
        XCTAssertEqual(Text.truncate("東京都", columns: 6), "東京都")
        XCTAssertEqual(Text.truncateLeading("abcdef", columns: 4), "…def")
        XCTAssertEqual(Text.fit("東京", width: 5, alignment: .right), " 東京")
        XCTAssertEqual(Text.fit("ab", width: 5, alignment: .center), " ab  ")
        XCTAssertEqual(Text.fit("abcdef", width: 3, ellipsis: "~"), "ab~")
        XCTAssertEqual(Text.visible("a\nb\tc\u{1}", glyphs: .unicode), "a↵b→c^A")
        XCTAssertEqual(Text.visible("a\nb\tc", glyphs: .ascii), "a\\nb\\tc")
        XCTAssertEqual(Text.wrap("the quick brown fox", columns: 9), ["the quick", "brown fox"])
        XCTAssertEqual(Text.wrap("abcdefghij", columns: 4), ["abcd", "efgh", "ij"])
    }
}
