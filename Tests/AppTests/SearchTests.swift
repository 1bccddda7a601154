import App
import SAECore
import TUI
import XCTest

/// `/` searches the decoded text of each feature's top exemplars: words whole across WordPiece
/// pieces, phrases, any case; it follows the typing, keeps the cursor when nothing matches, has a
/// history, and n / N step through the hits on the list and the detail screen.
final class SearchTests: XCTestCase {
    /// The fixture's sentences plus two where the name is split into `ben` + `##net`.
    static let sentences = AppFixture.sentences + ["miss ben ##net sat on the mat", "the ben ##net ball and the dog"]

    private func controller() throws -> AppController {
        try AppFixture.controller(options: { var o = AppFixture.small; o.topK = 20; return o }(), sentences: Self.sentences)
    }

    /// The features whose top exemplars' contexts hold `bennet` as one token or as `ben ##net`,
    /// found from the token ids alone (no decoding).
    private func featuresWithBennet(_ app: AppController) throws -> [Int] {
        let index = try XCTUnwrap(app.model.index)
        let tokenizer = try XCTUnwrap(app.session.tokenizer)
        let id = { (text: String) -> Int32 in Int32((0..<tokenizer.count).first { tokenizer.token($0) == text }!) }
        let (whole, ben, net) = (id("bennet"), id("ben"), id("##net"))
        return app.model.list.rows.filter { j in
            index.topExemplars(j).contains { e in
                let t = e.contextTokens
                return t.contains(whole) || zip(t, t.dropFirst()).contains { $0 == ben && $1 == net }
            }
        }
    }

    func testWordSplitIntoPiecesIsFoundWholeAndAsAPhrase() throws {
        let app = try controller()
        let expected = try featuresWithBennet(app)
        let tokenizer = try XCTUnwrap(app.session.tokenizer)
        let ben = (0..<tokenizer.count).first { tokenizer.token($0) == "ben" }!
        let index = try XCTUnwrap(app.model.index)
        XCTAssertTrue(app.model.list.rows.contains { j in index.topExemplars(j).contains { $0.contextTokens.contains(Int32(ben)) } },
                      "some feature's exemplars hold the split name")
        app.type("/bennet\n")
        let hits = app.model.list.searchHits.map { app.model.list.rows[$0] }
        XCTAssertFalse(hits.isEmpty)
        XCTAssertEqual(hits, expected)
        XCTAssertEqual(app.model.selectedFeature, expected[0])
        app.type("/BenNet\n")
        XCTAssertEqual(app.model.list.searchHits.map { app.model.list.rows[$0] }, expected, "any case")
        // A phrase across tokens: "miss" then the split name.
        app.type("/miss bennet\n")
        let phrase = app.model.list.searchHits.map { app.model.list.rows[$0] }
        XCTAssertFalse(phrase.isEmpty)
        XCTAssertTrue(Set(phrase).isSubset(of: Set(expected)))
        for j in phrase {
            XCTAssertTrue(index.topExemplars(j).contains { app.session.decodedText($0.contextTokens.filter { $0 >= 0 }).lowercased().contains("miss bennet") })
        }
    }

    func testFailedSearchLeavesTheSelectionAndEscRestoresIt() throws {
        let app = try controller()
        app.press(.down, .down, .down)
        XCTAssertEqual(app.model.list.table.selected, 3)
        app.type("/zebra\n")
        XCTAssertEqual(app.model.list.table.selected, 3, "a search that finds nothing does not move the cursor")
        XCTAssertTrue(app.model.list.searchHits.isEmpty)
        XCTAssertTrue(app.model.message?.text.contains("zebra") ?? false)
        app.type("/zebra\n")
        XCTAssertEqual(app.model.list.table.selected, 3, "nor does it again")
        // As you type: the list follows each key; Esc puts the cursor back.
        app.type("/ben")
        let afterBen = app.model.list.searchHits
        XCTAssertFalse(afterBen.isEmpty, "hits show while typing")
        XCTAssertTrue(afterBen.contains(app.model.list.table.selected))
        app.type("x")
        XCTAssertTrue(app.model.list.searchHits.isEmpty)
        XCTAssertEqual(app.model.list.table.selected, 3, "no match: the cursor is back where the search began")
        app.press(.backspace)
        XCTAssertEqual(app.model.list.searchHits, afterBen)
        app.press(.escape)
        XCTAssertNil(app.model.prompt)
        XCTAssertEqual(app.model.list.table.selected, 3)
        XCTAssertEqual(app.model.list.searchQuery, "zebra", "Esc restores the search from before")
    }

    func testHistoryRecallsEarlierSearches() throws {
        let app = try controller()
        app.type("/cat\n")
        app.type("/bennet\n")
        app.type("/do")
        app.press(.up)
        XCTAssertEqual(app.model.prompt?.text, "bennet")
        XCTAssertEqual(app.model.list.searchHits.map { app.model.list.rows[$0] }, try featuresWithBennet(app), "a recalled search runs")
        app.press(.up)
        XCTAssertEqual(app.model.prompt?.text, "cat")
        app.press(.up)
        XCTAssertEqual(app.model.prompt?.text, "cat", "the oldest stays")
        app.press(.down)
        XCTAssertEqual(app.model.prompt?.text, "bennet")
        app.press(.down)
        XCTAssertEqual(app.model.prompt?.text, "do", "then the text being typed")
        app.press(.up, .enter)
        XCTAssertEqual(app.model.promptHistory[.search], ["cat", "bennet"], "a search made again moves to the end, once")
    }

    func testNextAndPreviousHitOnTheDetailScreen() throws {
        let app = try controller()
        let expected = try featuresWithBennet(app)
        XCTAssertGreaterThan(expected.count, 1, "the fixture has several features to step through")
        app.type("/bennet\n")
        app.press(.enter)
        XCTAssertEqual(app.model.screen, .detail)
        XCTAssertEqual(app.model.detail.feature, expected[0])
        app.press(.char("n"))
        XCTAssertEqual(app.model.detail.feature, expected[1])
        app.press(.char("N"))
        XCTAssertEqual(app.model.detail.feature, expected[0])
        app.press(.char("N"))
        XCTAssertEqual(app.model.detail.feature, expected.last!, "wraps around")
    }

    func testSearchFollowsPartialIndexesAndAReindex() throws {
        // A search made, then a re-index of the first 40 tokens in shards (same context, other
        // exemplars): each partial index and the final one re-run it, and the cached texts of
        // features whose exemplars changed are redone.
        var options = AppFixture.small
        options.topK = 20
        let app = try AppFixture.controller(steps: 3, options: options, sentences: Self.sentences)
        app.type("/bennet\n")
        app.type(":reindex top-k=20 context=3 max-tokens=40\n")
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 60))
        app.handleJobEvents()
        XCTAssertNil(app.model.partial)
        options.maxTokens = 40
        let fresh = try AppFixture.controller(options: options, sentences: Self.sentences)
        fresh.type("/bennet\n")
        let expected = fresh.model.list.searchHits.map { fresh.model.list.rows[$0] }
        XCTAssertFalse(expected.isEmpty)
        XCTAssertNotEqual(expected, try featuresWithBennet(AppFixture.controller(options: { var o = options; o.maxTokens = nil; return o }(), sentences: Self.sentences)),
                          "the window changes which features match")
        XCTAssertEqual(app.model.list.searchHits.map { app.model.list.rows[$0] }, expected)
    }

    func testHelpSaysWhatSlashMatches() throws {
        let app = try controller()
        app.press(.char("?"))
        let text = app.frame(width: 120, height: 60).render().joined(separator: "\n")
        XCTAssertTrue(text.contains("/ matches the decoded text of each feature's top exemplars"))
    }
}
