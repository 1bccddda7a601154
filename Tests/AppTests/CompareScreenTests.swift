import App
import Foundation
import SAECore
import TUI
import XCTest

/// The compare screen: background jobs, ordering, focus, opening either side, and snapshots.
final class CompareScreenTests: XCTestCase {
    func testComparisonIsComputedInTheBackgroundAsTheHeadlessCompareComputesIt() throws {
        let app = try AppFixture.comparingController()
        XCTAssertEqual(app.model.screen, .compare, "open --sae2 opens on the compare screen")
        let state = try XCTUnwrap(app.model.comparison)
        let result = try XCTUnwrap(state.result)
        let headless = try DictionaryComparison.compute(app.session.sae, pathA: app.session.saePath, state.other.sae, pathB: state.other.saePath)
        XCTAssertEqual(result.matching, headless.matching)
        XCTAssertEqual(result.assignment, headless.assignment)
        XCTAssertEqual(result.assignment.pairs.count, AppFixture.fB)
        // B's index covers the same tokens as A's, and was saved for next time.
        let indexB = try XCTUnwrap(state.index)
        XCTAssertNil(state.partial)
        XCTAssertEqual(indexB.tokenCount, try XCTUnwrap(app.model.index).tokenCount)
        XCTAssertTrue(FileManager.default.fileExists(atPath: state.other.indexPath))
        XCTAssertTrue(app.model.jobs.contains { $0.kind == "compare" && $0.state == .finished })
        XCTAssertTrue(app.model.jobs.contains { $0.kind == "index B" && $0.state == .finished })
        // The exemplar overlap of the pairs, as compare --index-a/--index-b reports it.
        let agreement = try ActivationAgreement.compute(assignment: result.assignment, indexA: try XCTUnwrap(app.model.index), pathA: "a",
                                                        indexB: indexB, pathB: "b", thresholds: result.options.thresholds)
        XCTAssertEqual(state.agreement(of: result.assignment.pairs[0].a), agreement.perPair[0])
        XCTAssertTrue(app.model.jobs.contains { $0.kind == "agreement" && $0.state == .finished })
        // Best cosines well apart keep the best-first order the same on every machine.
        let best = (0..<AppFixture.f).map { result.matching.aToB.bestCosine($0) }.sorted()
        for (x, y) in zip(best, best.dropFirst()) { XCTAssertGreaterThan(y - x, 1e-4) }
    }

    func testComputingShowsUntilTheJobReports() throws {
        let app = try AppFixture.controller()
        app.attachComparison(try AppFixture.secondSession(alongside: app.session), indexState: .needsBuild(reason: "test"), start: true)
        // Results reach the model only through handleJobEvents: until then the screen says so.
        var text = app.frame(width: 80, height: 24).render().joined(separator: "\n")
        XCTAssertTrue(text.contains("computing…"), text)
        XCTAssertTrue(text.contains("waiting for the matching"), text)
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 60))
        app.handleJobEvents()
        text = app.frame(width: 80, height: 24).render().joined(separator: "\n")
        XCTAssertFalse(text.contains("computing…"), text)
        XCTAssertTrue(text.contains("1:1 optimal 12 pairs"), text)
    }

    func testSecondDictionaryOfTheSampleWaitsForTheFirstC() throws {
        let app = try AppFixture.controller()
        let jobsBefore = app.jobs.snapshot.count
        app.attachComparison(try AppFixture.secondSession(alongside: app.session), indexState: .needsBuild(reason: "test"), start: false)
        XCTAssertEqual(app.jobs.snapshot.count, jobsBefore, "nothing runs until the compare screen is asked for")
        XCTAssertEqual(app.model.screen, .features)
        app.press(.char("c"))
        XCTAssertEqual(app.model.screen, .compare)
        // The matching, B's index, and both dictionaries' weight cosines (the core-metric rows).
        XCTAssertEqual(Set(app.jobs.snapshot.dropFirst(jobsBefore).map(\.kind)), ["compare", "index B", "weight-cosines", "weight-cosines-b"])
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 60))
        app.handleJobEvents()
        XCTAssertNotNil(app.model.comparison?.result)
        // Back and forth: nothing is computed twice.
        app.press(.char("q"), .char("c"))
        XCTAssertEqual(app.jobs.snapshot.count, jobsBefore + 4)
        XCTAssertNotNil(app.model.comparison?.weights)
        XCTAssertNotNil(app.model.overview.weights)
    }

    func testCWithoutASecondDictionarySaysHowToGiveOne() throws {
        let app = try AppFixture.controller()
        app.press(.char("c"))
        XCTAssertEqual(app.model.screen, .features)
        XCTAssertEqual(app.model.message?.isError, true)
        XCTAssertTrue(app.model.message?.text.contains("--sae2") == true)
    }

    func testOrderKeyCyclesBestWorstUnmatchedAndId() throws {
        let app = try AppFixture.comparingController()
        let matches = try XCTUnwrap(app.model.comparison?.result).matching.aToB
        func bests() -> [Float] { app.model.comparison!.view.rows.map { matches.bestCosine($0) } }
        XCTAssertEqual(app.model.comparison?.view.order, .best)
        XCTAssertEqual(bests(), bests().sorted(by: >))
        XCTAssertEqual(app.model.comparison?.view.rows.count, AppFixture.f)
        app.press(.char("j"), .char("j"))
        let kept = app.model.comparison?.view.selectedA
        app.press(.char("s"))
        XCTAssertEqual(app.model.comparison?.view.order, .worst)
        XCTAssertEqual(bests(), bests().sorted())
        XCTAssertEqual(app.model.comparison?.view.selectedA, kept, "the cursor stays on its feature")
        app.press(.char("s"))
        XCTAssertEqual(app.model.comparison?.view.order, .unmatched)
        let unmatched = (0..<AppFixture.f).filter { matches.bestCosine($0) < 0.5 }
        XCTAssertFalse(unmatched.isEmpty)
        XCTAssertEqual(Set(app.model.comparison!.view.rows), Set(unmatched))
        XCTAssertEqual(bests(), bests().sorted())
        app.press(.char("s"))
        XCTAssertEqual(app.model.comparison?.view.order, .id)
        XCTAssertEqual(app.model.comparison?.view.rows, Array(0..<AppFixture.f))
        app.press(.char("s"))
        XCTAssertEqual(app.model.comparison?.view.order, .best)
    }

    func testTabMovesFocusBetweenTheListAndTheMatches() throws {
        let app = try AppFixture.comparingController()
        app.press(.char("j"))
        let a = try XCTUnwrap(app.model.comparison?.view.selectedA)
        XCTAssertEqual(app.model.comparison?.view.focus, .a)
        app.press(.tab, .char("j"), .char("j"))
        XCTAssertEqual(app.model.comparison?.view.focus, .b)
        XCTAssertEqual(app.model.comparison?.view.matches.selected, 2)
        XCTAssertEqual(app.model.comparison?.view.selectedA, a, "j moves the focused pane only")
        app.press(.char("G"))
        let rows = try XCTUnwrap(app.model.comparison?.matchRows(for: a))
        XCTAssertEqual(app.model.comparison?.view.matches.selected, rows.count - 1)
        app.press(.tab, .char("j"))
        XCTAssertEqual(app.model.comparison?.view.focus, .a)
        XCTAssertNotEqual(app.model.comparison?.view.selectedA, a)
        XCTAssertEqual(app.model.comparison?.view.matches.selected, 0, "a new A feature starts at its best match")
    }

    func testMatchRowsAreTheBestMatchesWithTheAssignedPartnerMarked() throws {
        let app = try AppFixture.comparingController()
        let state = try XCTUnwrap(app.model.comparison)
        let result = try XCTUnwrap(state.result)
        for j in 0..<AppFixture.f {
            let rows = state.matchRows(for: j)
            let best = result.matching.aToB.matches(j, limit: result.options.top)
            XCTAssertEqual(Array(rows.prefix(best.count).map(\.feature)), best.map(\.feature))
            let pair = result.assignment.pairs.first { $0.a == j }
            XCTAssertEqual(rows.filter(\.assigned).map(\.feature), pair.map { [$0.b] } ?? [], "feature \(j)")
        }
    }

    func testEnterOpensAInTheBrowserAndBAtFullSize() throws {
        let app = try AppFixture.comparingController()
        app.press(.char("j"))
        let a = try XCTUnwrap(app.model.comparison?.view.selectedA)
        app.press(.enter)
        XCTAssertEqual(app.model.screen, .detail)
        XCTAssertEqual(app.model.detail.feature, a)
        app.press(.char("q"))
        XCTAssertEqual(app.model.screen, .compare, "q returns to the comparison")

        app.press(.tab, .char("j"), .enter)
        let b = try XCTUnwrap(app.model.comparison?.matchRows(for: a)[1].feature)
        XCTAssertEqual(app.model.comparison?.view.zoomed, b)
        let text = app.frame(width: 100, height: 30).render().joined(separator: "\n")
        XCTAssertTrue(text.contains("B fixture-b · Feature \(b)"), text)
        XCTAssertTrue(text.contains("Matches in A"), text)
        app.press(.char("q"))
        XCTAssertNil(app.model.comparison?.view.zoomed)
        XCTAssertEqual(app.model.screen, .compare)
        app.press(.char("q"))
        XCTAssertTrue(app.model.quit, "the compare screen is a tab: q quits")
    }

    func testDifferentWidthsAreRefusedAsCompareRefusesThem() throws {
        let app = try AppFixture.controller()
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("samples/dictionaries/dictionary_learning/trainer_1").path
        XCTAssertThrowsError(try ComparisonSession.open(sae: sample, index: nil, alongside: app.session)) { error in
            XCTAssertEqual(String(describing: error),
                           "cannot compare dictionaries of different widths: fixture/ae.pt has D=6 but \(sample) has D=576")
        }
    }

    func testCompareScreenSnapshots() throws {
        let app = try AppFixture.comparingController()
        app.press(.char("j"))
        assertScreen(app, width: 80, height: 24, named: "compare-80x24")
        assertScreen(app, width: 160, height: 48, named: "compare-160x48")
        app.press(.tab, .enter)
        assertScreen(app, width: 80, height: 24, named: "compare-zoom-80x24")
    }
}

/// Re-indexing A with new settings rebuilds B's index with the same settings.
final class CompareReindexTests: XCTestCase {
    func testReindexOfARebuildsBWithTheSameSettings() throws {
        let app = try AppFixture.comparingController(start: true)
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 60))
        app.handleJobEvents()
        XCTAssertEqual(app.model.comparison?.index?.options.topK, app.model.index?.options.topK)
        app.runCommandLine("reindex top-k=3 max-tokens=40")
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 60))
        app.handleJobEvents()
        XCTAssertEqual(app.model.index?.options.topK, 3)
        XCTAssertEqual(app.model.comparison?.index?.options.topK, 3, "B follows A's new settings")
        XCTAssertEqual(app.model.comparison?.index?.tokenCount, 40, "and covers the same tokens")
        XCTAssertNil(app.model.comparison?.pendingIndexBuild)
    }
}
