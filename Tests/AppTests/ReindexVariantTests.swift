import App
import Foundation
import SAECore
import TUI
import XCTest

/// An index per settings: re-indexing with other settings never replaces the launch index,
/// settings used before are read back from their file, the title bar says which settings are
/// on screen, and cancelling a re-index puts the last complete index back.
final class ReindexVariantTests: XCTestCase {
    func testVariantFileNamesSayTheirSettings() {
        var options = FeatureIndexOptions()
        XCTAssertEqual(IndexLocation.variant(of: "/c/t0-ab.index.safetensors", options: options, baseIsDefault: true), "/c/t0-ab.index.safetensors")
        XCTAssertEqual(IndexLocation.variant(of: "/c/mine.safetensors", options: options, baseIsDefault: false), "/c/mine.default.safetensors")
        options.minActivation = 1
        options.maxTokens = 6000
        XCTAssertEqual(options.settingsWords, ["min-act=1", "max-tokens=6000"])
        XCTAssertEqual(IndexLocation.variant(of: "/c/t0-ab.index.safetensors", options: options, baseIsDefault: true),
                       "/c/t0-ab.min-act=1,max-tokens=6000.index.safetensors")
        options.minActivation = 0.25
        XCTAssertEqual(options.settingsWords.first, "min-act=0.25")
        XCTAssertEqual(IndexLocation.variant(of: "idx", options: options, baseIsDefault: true), "idx.min-act=0.25,max-tokens=6000")
    }

    func testReindexWithOtherSettingsKeepsTheLaunchIndexAndReadsVariantsBack() throws {
        let app = try AppFixture.controller()
        let launchFile = app.session.indexPath
        let launchBytes = try Data(contentsOf: URL(fileURLWithPath: launchFile))
        XCTAssertEqual(app.model.indexPath, launchFile)

        app.runCommandLine("reindex min-act=1")
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 60))
        app.handleJobEvents()
        let variant = try XCTUnwrap(app.model.indexPath)
        XCTAssertNotEqual(variant, launchFile)
        XCTAssertTrue(variant.hasSuffix("/fixture.top-k=5,context=3,intervals=4,per-interval=2,bins=10,min-act=1.index.safetensors"), variant)
        XCTAssertEqual(app.model.index?.options.minActivation, 1)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: launchFile)), launchBytes, "the launch index is untouched")
        XCTAssertEqual(try IndexFile.read(path: variant).options.minActivation, 1)
        // Every screen's title bar says which settings are on screen.
        for key in ["F", "o", "J", "p"] {
            app.press(.char(Character(key)))
            let title = app.frame(width: 160, height: 48).render()[0]
            XCTAssertTrue(title.contains("min-act=1"), "\(key): \(title)")
        }

        // Back to the launch settings, then to min-act=1 again: both read from their files, no job.
        let jobsBefore = app.jobs.snapshot.count
        app.runCommandLine("reindex min-act=0")
        XCTAssertEqual(app.jobs.snapshot.count, jobsBefore)
        XCTAssertEqual(app.model.indexPath, launchFile)
        XCTAssertEqual(app.model.index?.options.minActivation, 0)
        XCTAssertEqual(app.model.message?.text, "index for top-k=5 context=3 intervals=4 per-interval=2 bins=10 read from \(launchFile) (built before)")
        app.runCommandLine("reindex min-act=1")
        XCTAssertEqual(app.jobs.snapshot.count, jobsBefore)
        XCTAssertEqual(app.model.indexPath, variant)
    }

    func testTheOverviewSaysWhatEachCountMeansUnderAThreshold() throws {
        let app = try AppFixture.controller()
        app.runCommandLine("reindex min-act=2")
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 60))
        app.handleJobEvents()
        let index = try XCTUnwrap(app.model.index)
        let never = (0..<index.featureCount).filter { index.isDead($0) }.count
        let alive = Int((index.metrics.result().fracAlive * Double(index.featureCount)).rounded())
        XCTAssertGreaterThan(never, index.featureCount - alive, "min-act=2 leaves features that fire below it")
        app.press(.char("o"))
        let text = app.frame(width: 160, height: 48).render().joined(separator: "\n")
        XCTAssertTrue(text.contains("\(index.featureCount - never) reach min-act · \(never) never do · \(alive) alive (any activation)"), text)
        XCTAssertTrue(text.contains("log10 density of activations >= 2 (min-act)"), text)
        XCTAssertFalse(text.contains(" dead "), "nothing called dead that the metrics call alive:\n\(text)")
    }

    func testCancellingAReindexRestoresTheCompleteIndexAndLeavesBsBuildRunning() throws {
        let app = try AppFixture.comparingController()
        let before = try XCTUnwrap(app.model.index)
        let beforeB = try XCTUnwrap(app.model.comparison?.index)
        app.runCommandLine("reindex top-k=3 max-tokens=40")
        let job = try XCTUnwrap(app.model.indexJob)
        let jobB = try XCTUnwrap(app.model.comparison?.indexJob)
        // Cancelled from the jobs screen, with A's job selected.
        app.handleJobEvents()
        app.press(.char("J"))
        let row = try XCTUnwrap(app.model.jobs.firstIndex { $0.id == job })
        app.press(.char("g"))
        for _ in 0..<row { app.press(.char("j")) }
        app.press(.char("x"))
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 60))
        app.handleJobEvents()
        let states = Dictionary(uniqueKeysWithValues: app.jobs.snapshot.map { ($0.id, $0.state) })
        XCTAssertEqual(states[job], .cancelled)
        XCTAssertEqual(states[jobB], .finished, "B's build is not cancelled with A's")
        XCTAssertNil(app.model.partial)
        XCTAssertTrue(app.model.index?.options.sameSettings(as: before.options) ?? false, "A's complete index is back")
        XCTAssertEqual(app.model.index?.tokenCount, before.tokenCount)
        XCTAssertEqual(app.model.indexOptions.topK, before.options.topK)
        XCTAssertEqual(app.model.indexPath, app.session.indexPath)
        // B shows its index of A's settings; its finished build for the new settings was saved.
        XCTAssertEqual(app.model.comparison?.index?.tokenCount, beforeB.tokenCount)
        XCTAssertEqual(app.model.comparison?.index?.options.topK, beforeB.options.topK)
        XCTAssertNil(app.model.comparison?.partial)
        var asked = app.model.indexOptions
        asked.topK = 3
        asked.maxTokens = 40
        let savedB = try IndexFile.read(path: try XCTUnwrap(app.model.comparison?.other.variantIndexPath(for: asked)))
        XCTAssertEqual(savedB.tokenCount, 40)
    }

    func testCancellingAReindexSaysItAndShowsNoPartialIndex() throws {
        let app = try AppFixture.controller(steps: 4)
        let before = try XCTUnwrap(app.model.index)
        app.runCommandLine("reindex min-act=1")
        let job = try XCTUnwrap(app.model.indexJob)
        app.jobs.cancel(job)
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 60))
        app.handleJobEvents()
        XCTAssertEqual(app.jobs.snapshot.first { $0.id == job }?.state, .cancelled)
        XCTAssertNil(app.model.partial)
        XCTAssertNil(app.model.indexJob)
        XCTAssertEqual(app.model.index?.options.minActivation, before.options.minActivation)
        XCTAssertEqual(app.model.index?.tokenCount, before.tokenCount)
        XCTAssertEqual(app.model.message?.text, "re-index cancelled: back to the complete index (top-k=5 context=3 intervals=4 per-interval=2 bins=10)")
        let title = app.frame(width: 160, height: 48).render()[0]
        XCTAssertFalse(title.contains("PARTIAL") || title.contains("min-act"), title)
    }

    func testWithSeveralJobsRunningXCancelsOnlyTheSelectedOne() throws {
        let app = try AppFixture.controller()
        let waiting: @Sendable (JobCenter.Context) throws -> Any = { context in
            while !context.isCancelled { Thread.sleep(forTimeInterval: 0.001) }
            throw SaescopeError("cancelled")
        }
        let first = app.jobs.start(kind: "a", title: "first", work: waiting)
        let second = app.jobs.start(kind: "b", title: "second", work: waiting)
        defer { app.jobs.cancelAll(); _ = app.jobs.waitUntilIdle(timeout: 10) }
        app.handleJobEvents()
        app.press(.char("J"), .char("g"), .char("x"))  // the finished index job is selected
        XCTAssertEqual(app.model.message?.text, "2 jobs are running: select one (j/k), then x")
        XCTAssertFalse(app.jobs.isCancelled(first) || app.jobs.isCancelled(second))
        app.press(.char("G"), .char("x"))
        XCTAssertTrue(app.jobs.isCancelled(second))
        XCTAssertFalse(app.jobs.isCancelled(first))
    }
}

/// `:reindex exclude-special=on|off`: parsed, and refused at the prompt when the cache names no special ids.
final class ReindexSpecialTokensTests: XCTestCase {
    func testExcludeSpecialAtThePrompt() throws {
        let app = try AppFixture.controller()
        app.runCommandLine("reindex exclude-special=maybe")
        XCTAssertEqual(app.model.message?.text, "exclude-special takes on or off")
        // The fixture cache has token ids but no bos/eos/pad ids in its metadata.
        app.runCommandLine("reindex exclude-special=on")
        XCTAssertTrue(app.model.message?.text.contains("bos_token_id") ?? false, app.model.message?.text ?? "")
        XCTAssertTrue(app.model.message?.isError ?? false)
        XCTAssertNil(app.model.indexOptions.excludeSpecial)
        // Off (the default) is not written into the prefilled settings, whose last word stays min-act's value.
        app.press(.char("o"), .char("r"))
        XCTAssertTrue(app.model.prompt?.text.hasSuffix("min-act=0.0") ?? false, app.model.prompt?.text ?? "")
    }
}
