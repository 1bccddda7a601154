import App
import SAECore
import TUI
import XCTest

/// Feeding keys to the controller and checking the model: navigation, sorting, filtering,
/// search, marks, the command line, jobs.
final class AppUpdateTests: XCTestCase {
    func testIndexBuildsInBackgroundAndListsEveryFeature() throws {
        let app = try AppFixture.controller()
        let index = try XCTUnwrap(app.model.index)
        XCTAssertNil(app.model.partial)
        XCTAssertEqual(app.model.list.rows, Array(0..<AppFixture.f))
        XCTAssertEqual(index.tokenCount, AppFixture.sentences.map { $0.split(separator: " ").count + 2 }.reduce(0, +))
        XCTAssertTrue(FileManager.default.fileExists(atPath: app.session.indexPath), "the finished index is saved")
    }

    func testProgressiveBuildPublishesPartialIndexesThatEndInTheOnePassResult() throws {
        let jobs = JobCenter()
        // Its own index file: the one-pass controller below saves to the fixture's default path.
        let path = AppFixture.temporaryDirectory().appendingPathComponent("progressive.index.safetensors").path
        _ = AppController(session: try AppFixture.session(indexPath: path), indexState: .needsBuild(reason: "test"), jobs: jobs,
                          options: AppFixture.small, progressiveSteps: 4)
        XCTAssertTrue(jobs.waitUntilIdle())
        // The job's reports, taken here instead of by the app: three partial merges, then the end.
        let partials = jobs.drain().filter { if case .partial = $0 { return true } else { return false } }
        XCTAssertEqual(partials.count, 3)
        let whole = try XCTUnwrap(try AppFixture.controller(steps: 1).model.index)
        let saved = try IndexFile.read(path: path)
        XCTAssertEqual(saved.provenance.shards, [0, 1, 2, 3], "the saved index is the merge of all four shards")
        for j in 0..<AppFixture.f {
            // (Context activations outside the sequence are NaN, so compare the parts that are numbers.)
            XCTAssertEqual(saved.topExemplars(j).map(\.row), whole.topExemplars(j).map(\.row), "feature \(j)")
            XCTAssertEqual(saved.topExemplars(j).map(\.value), whole.topExemplars(j).map(\.value), "feature \(j)")
            XCTAssertEqual(saved.topExemplars(j).map(\.contextTokens), whole.topExemplars(j).map(\.contextTokens))
            XCTAssertEqual(saved.density(j), whole.density(j))
            XCTAssertEqual(Array(saved.histogram(j).counts), Array(whole.histogram(j).counts))
        }
    }

    func testWithoutAStepCountTheControllerTakesTheSuggestedOneAndASmallCacheIsIndexedInOnePass() throws {
        let jobs = JobCenter()
        let path = AppFixture.temporaryDirectory().appendingPathComponent("default-steps.index.safetensors").path
        let session = try AppFixture.session(indexPath: path)
        _ = AppController(session: session, indexState: .needsBuild(reason: "test"), jobs: jobs, options: AppFixture.small)
        XCTAssertTrue(jobs.waitUntilIdle())
        let tokens = try XCTUnwrap(session.cache).rowCount
        XCTAssertEqual(ProgressiveIndexer.suggestedSteps(tokens: tokens, featureCount: session.sae.featureCount), 1)
        // One step: no partial index, and the saved index is one pass (not a merge of shards, each
        // of which would encode the grid cells its edges fall in).
        let partials = jobs.drain().filter { if case .partial = $0 { return true } else { return false } }
        XCTAssertEqual(partials.count, 0)
        XCTAssertEqual(try IndexFile.read(path: path).provenance.shardCount, 1)
    }

    func testShardCountGrowsWithTheCacheSoTheFirstPartialComesEarly() {
        // F = 16384: grid cells of 1,024 rows.
        XCTAssertEqual(ProgressiveIndexer.suggestedSteps(tokens: 131_072, featureCount: 16384), 8)
        XCTAssertEqual(ProgressiveIndexer.suggestedSteps(tokens: 2_000_000, featureCount: 16384), 20)
        XCTAssertEqual(ProgressiveIndexer.suggestedSteps(tokens: 100_000_000, featureCount: 16384), 64)
        // Each shard keeps 8 cells or more (it encodes the cells its edges fall in): the sample's
        // 12,288 tokens at F = 2048 (cells of 4,096 rows) take one step, 65,536 tokens two.
        XCTAssertEqual(ProgressiveIndexer.suggestedSteps(tokens: 12_288, featureCount: 2048), 1)
        XCTAssertEqual(ProgressiveIndexer.suggestedSteps(tokens: 65_536, featureCount: 2048), 2)
        XCTAssertEqual(ProgressiveIndexer.suggestedSteps(tokens: 24_576, featureCount: 16384), 3)
    }

    func testNavigationAndDetail() throws {
        let app = try AppFixture.controller()
        app.press(.down, .down, .char("j"))
        XCTAssertEqual(app.model.selectedFeature, 3)
        app.press(.char("k"))
        XCTAssertEqual(app.model.selectedFeature, 2)
        app.press(.char("G"))
        XCTAssertEqual(app.model.selectedFeature, AppFixture.f - 1)
        app.press(.char("g"), .enter)
        XCTAssertEqual(app.model.screen, .detail)
        XCTAssertEqual(app.model.detail.feature, 0)
        app.press(.char("l"))
        XCTAssertEqual(app.model.detail.feature, 1, "l steps to the next feature in list order")
        app.press(.char("1"))
        let nearest = app.session.neighbours.nearest(to: 1, count: 1)[0].feature
        XCTAssertEqual(app.model.detail.feature, nearest, "digit keys open decoder neighbours")
        app.press(.char("b"))
        XCTAssertEqual(app.model.detail.feature, 1, "b goes back")
        app.press(.char("q"))
        XCTAssertEqual(app.model.screen, .features)
        app.press(.char("q"))
        XCTAssertTrue(app.model.quit)
    }

    func testSortingByEveryColumnOrdersRows() throws {
        let app = try AppFixture.controller()
        let index = try XCTUnwrap(app.model.index)
        app.press(.char("s"))
        XCTAssertEqual(app.model.list.sort, .density)
        let densities = app.model.list.rows.map { index.density($0) }
        XCTAssertEqual(densities, densities.sorted(by: >), "density sorts descending first")
        app.press(.char("S"))
        XCTAssertEqual(app.model.list.rows.map { index.density($0) }, densities.sorted())
        app.press(.char("s"))
        XCTAssertEqual(app.model.list.sort, .max)
        XCTAssertEqual(app.model.list.rows.map { index.maxActivation($0) }, app.model.list.rows.map { index.maxActivation($0) }.sorted(by: >))
        app.type(":sort mean asc\n")
        XCTAssertEqual(app.model.list.rows.map { index.meanActivation($0) }, app.model.list.rows.map { index.meanActivation($0) }.sorted())
        app.type(":sort id\n")
        XCTAssertEqual(app.model.list.rows, Array(0..<AppFixture.f))
    }

    func testFilteringAliveDeadAndDensityRange() throws {
        let app = try AppFixture.controller()
        let index = try XCTUnwrap(app.model.index)
        let dead = (0..<AppFixture.f).filter { index.isDead($0) }
        app.press(.char("f"))
        XCTAssertEqual(app.model.list.rows, (0..<AppFixture.f).filter { !index.isDead($0) })
        app.press(.char("f"))
        XCTAssertEqual(app.model.list.rows, dead)
        app.press(.char("f"))
        XCTAssertEqual(app.model.list.rows.count, AppFixture.f)
        app.type(":density 0.1 0.5\n")
        XCTAssertFalse(app.model.list.rows.isEmpty)
        XCTAssertTrue(app.model.list.rows.allSatisfy { (0.1...0.5).contains(index.density($0)) })
        XCTAssertEqual(app.model.list.rows, (0..<AppFixture.f).filter { (0.1...0.5).contains(index.density($0)) })
        app.type(":density - -\n")
        XCTAssertEqual(app.model.list.rows.count, AppFixture.f)
    }

    func testMarksAndMarkedOnlyFilterAndExport() throws {
        let app = try AppFixture.controller()
        app.press(.char(" "), .char(" "))
        XCTAssertEqual(app.model.marks, [0, 1], "space marks and moves down")
        app.press(.char("m"))
        XCTAssertEqual(app.model.list.rows, [0, 1])
        app.press(.char("m"), .char("u"))
        XCTAssertTrue(app.model.marks.isEmpty)
        app.press(.char("e"))
        XCTAssertTrue(app.model.message?.isError ?? false, "exporting nothing explains how to mark")
        app.press(.char("f"), .char("a"))
        let alive = app.model.list.rows
        XCTAssertEqual(app.model.marks, Set(alive))
        let out = AppFixture.temporaryDirectory().appendingPathComponent("marked.csv").path
        app.press(.char("e"))
        XCTAssertEqual(app.model.prompt?.kind, .export)
        app.press(.ctrl("u"))
        app.type("csv \(out)\n")
        XCTAssertTrue(app.jobs.waitUntilIdle())
        app.handleJobEvents()
        let text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n").count, alive.count + 1, "a header and one row per marked feature")
        XCTAssertTrue(app.model.message?.text.hasPrefix("exported \(alive.count) features") ?? false)
    }

    func testMarkedOnlyListFollowsMarksMadeOnTheDetailScreen() throws {
        let app = try AppFixture.controller()
        app.press(.char(" "), .char("m"))
        XCTAssertEqual(app.model.list.rows, [0])
        app.type(":5\n")
        app.press(.char(" "))
        XCTAssertEqual(app.model.list.rows, [0, 5], "marking on the detail screen adds the feature to the marked-only list")
        app.press(.char(" "))
        XCTAssertEqual(app.model.list.rows, [0], "and unmarking takes it out")
        app.press(.char("q"))
        app.press(.char(" "))
        XCTAssertEqual(app.model.list.rows, [], "unmarking from the list empties it")
    }

    func testCommandLineJumpsAndReportsErrors() throws {
        let app = try AppFixture.controller()
        app.type(":7\n")
        XCTAssertEqual(app.model.screen, .detail)
        XCTAssertEqual(app.model.detail.feature, 7)
        app.type(":99\n")
        XCTAssertEqual(app.model.message, StatusMessage(text: "no feature 99: ids run from 0 to 15", isError: true))
        app.type(":frobnicate\n")
        XCTAssertTrue(app.model.message?.isError ?? false)
        app.type(":theme light\n")
        XCTAssertEqual(app.theme.name, "light")
        app.press(.char("t"))
        XCTAssertEqual(app.theme.name, "high-contrast")
        app.press(.char(":"), .char("x"), .escape)
        XCTAssertNil(app.model.prompt, "Esc abandons the command line")
    }

    func testReindexWithNewSettingsSupersedesAndCancelKeyStopsAJob() throws {
        let app = try AppFixture.controller()
        app.type(":reindex top-k=2 min-act=1\n")
        let first = try XCTUnwrap(app.model.indexJob)
        app.type(":reindex top-k=3\n")
        XCTAssertNotEqual(app.model.indexJob, first)
        XCTAssertTrue(app.jobs.waitUntilIdle())
        app.handleJobEvents()
        XCTAssertEqual(app.model.index?.options.topK, 3, "the superseded job's result is never shown")
        XCTAssertEqual(app.model.index?.options.minActivation, 1)
        let states = Dictionary(uniqueKeysWithValues: app.model.jobs.map { ($0.id, $0.state) })
        XCTAssertTrue(states[first] == .cancelled || states[first] == .finished)
        app.type(":reindex first-token=10 max-tokens=20\n")
        XCTAssertTrue(app.jobs.waitUntilIdle())
        app.handleJobEvents()
        XCTAssertEqual(app.model.index?.tokenCount, 20, "a token window of the cache")
        XCTAssertEqual(app.model.index?.provenance.firstRow, 10)
        app.press(.char("o"), .char("r"))
        XCTAssertTrue(app.model.prompt?.text.contains("first-token=10 max-tokens=20") ?? false, "r pre-fills the current settings")
        app.press(.escape, .char("q"))
        app.type(":reindex top-k=0\n")
        XCTAssertTrue(app.model.message?.isError ?? false, "invalid settings are refused")

        // A job that runs until cancelled: the jobs screen's x cancels it.
        let blocker = app.jobs.start(kind: "test", title: "waits for cancel") { context in
            while !context.isCancelled { Thread.sleep(forTimeInterval: 0.001) }
            throw SaescopeError("cancelled")
        }
        app.handleJobEvents()
        app.press(.char("J"))
        XCTAssertEqual(app.model.screen, .jobs)
        app.press(.char("G"), .char("x"))
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 10))
        app.handleJobEvents()
        XCTAssertEqual(app.model.jobs.first { $0.id == blocker }?.state, .cancelled)
    }

    func testMouseClickSelectsAndWheelScrolls() throws {
        let app = try AppFixture.controller()
        _ = app.frame(width: 80, height: 24)
        // Rows start two lines below the panel's top border (title bar, border, header).
        app.handle(.mouse(MouseEvent(.press(button: 1), x: 10, y: 3 + 4)))
        XCTAssertEqual(app.model.selectedFeature, 4)
        app.handle(.mouse(MouseEvent(.wheelDown, x: 10, y: 10)))
        XCTAssertEqual(app.model.selectedFeature, 7)
        app.handle(.mouse(MouseEvent(.press(button: 1), x: 10, y: 3 + 7)))
        XCTAssertEqual(app.model.screen, .detail, "a second click on the selected row opens it")
    }

    func testHelpOverlayListsTheKeymapAndAnyKeyCloses() throws {
        let app = try AppFixture.controller()
        app.press(.char("?"))
        XCTAssertTrue(app.model.showHelp)
        let text = app.frame(width: 100, height: 40).render().joined(separator: "\n")
        XCTAssertTrue(text.contains("search text"))
        app.press(.char("G"))
        XCTAssertTrue(app.frame(width: 100, height: 40).render().joined(separator: "\n").contains(":reindex"), "the command list is at the end")
        app.press(.char("x"))
        XCTAssertFalse(app.model.showHelp)
    }
}

/// Logit effects on the detail screen, computed in the background from an unembedding file.
final class LogitEffectsScreenTests: XCTestCase {
    func testDetailShowsPromotedAndSuppressedTokensOfTheFeature() throws {
        let app = try AppFixture.controller()
        let d = AppFixture.d, v = app.session.tokenizer!.count
        // An integer W_U [D, V]: every logit is exact, so the ranking is machine-independent.
        let wU = (0..<(d * v)).map { Float(AppFixture.hashed($0, 5, -3, 3)) + Float($0 % v) / 64 }
        let path = AppFixture.temporaryDirectory().appendingPathComponent("unembed.safetensors").path
        try Safetensors.write(arrays: [.init("W_U", .float32, [d, v], wU)], metadata: [:], to: path)
        app.session.unembedding = try Unembedding(path: path, dimension: d)

        app.type(":5\n")
        XCTAssertTrue(app.jobs.waitUntilIdle())
        app.handleJobEvents()
        let effects = try XCTUnwrap(app.model.logits[5])
        // Brute force: W_dec[5] @ W_U.
        let row = Array(app.session.sae.decoderRow(5))
        let logits = (0..<v).map { t in (0..<d).reduce(Float(0)) { $0 + row[$1] * wU[$1 * v + t] } }
        let order = logits.indices.sorted { (logits[$0], -$0) > (logits[$1], -$1) }
        XCTAssertEqual(effects.positive.map(\.token), Array(order.prefix(10)))
        XCTAssertEqual(effects.positive.first?.value, logits[order[0]])
        let text = app.frame(width: 160, height: 48).render().joined(separator: "\n")
        XCTAssertTrue(text.contains("Logit effects"), text)
        let top = app.session.tokenText(Int32(order[0])).trimmingCharacters(in: .whitespaces)
        XCTAssertTrue(text.contains(String(format: "%+.2f ", logits[order[0]]) + top), text)
    }
}
