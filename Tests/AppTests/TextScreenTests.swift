import App
import Foundation
import SAECore
import TUI
import XCTest

/// The text screen (`i`): typed text scored by the attached model in the background, its tokens
/// shaded by the selected feature, the features at the caret and over the whole text; and what it
/// says when there is nothing to send, no model, a text longer than the context, or a model that
/// dies mid-request. The model is a test double (FakeTextModel behind ScriptedModelEngine) run
/// through the real `TextFeatureScan`; the real model is tested end to end in SaescopeCLITests
/// (TextScreenEndToEndTests).
final class TextScreenTests: XCTestCase {
    typealias Engine = ModelAttachmentTests.ScriptedModelEngine

    private func settle(_ app: AppController) {
        for _ in 0..<3 {
            XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 30))
            app.handleJobEvents()
        }
    }

    /// A controller with the double attached and loaded (its CE jobs done), the clock fixed so
    /// the frames do not vary.
    private func attachedController(_ engine: Engine = Engine()) throws -> AppController {
        let app = try AppFixture.controller()
        app.uptimeNanoseconds = { 1_000_000_000 }
        app.attachModel(ModelRequest(model: "/models/tiny-llama", layer: "1", hook: nil), connect: { _, started in started(0); return engine })
        settle(app)
        return app
    }

    private func text(_ app: AppController, _ width: Int = 80, _ height: Int = 24, monochrome: Bool = false) -> String {
        app.frame(width: width, height: height, monochrome: monochrome).render().joined(separator: "\n")
    }

    private func textJobs(_ app: AppController) -> Int { app.jobs.snapshot.filter { $0.kind == "text" }.count }

    /// relu(x W_enc + b_enc) of the fixture's embedding of `id`, in Double (integer weights:
    /// exact): the nonzero codes, highest first, ties by id.
    private func referenceCodes(_ app: AppController, token id: Int32) -> [(feature: Int, value: Float)] {
        let sae = app.session.sae, x = FakeTextModel.embedding(id)
        let d = sae.inputDimension, f = sae.featureCount
        var codes: [(feature: Int, value: Float)] = []
        for j in 0..<f {
            var sum = Double(sae.encoderBias[j])
            for k in 0..<d { sum += Double(x[k]) * Double(sae.encoderWeights[k * f + j]) }
            if sum > 0 { codes.append((j, Float(sum))) }
        }
        return codes.sorted { $0.value != $1.value ? $0.value > $1.value : $0.feature < $1.feature }
    }

    func testNoModelSaysHowInOneLineAndSendsNothing() throws {
        let app = try AppFixture.controller()
        app.press(.char("i"))
        XCTAssertEqual(app.model.screen, .text)
        XCTAssertEqual(app.model.text.focus, .field)
        app.type("the cat sat")
        app.press(.enter)
        XCTAssertEqual(textJobs(app), 0)
        XCTAssertEqual(app.model.message, StatusMessage(text: "no model attached (saescope open --model M): the text screen runs the model on the text", isError: true))
        assertScreen(app, width: 80, height: 24, named: "text-no-model-80x24")
        // Without the model environment (the cache names a model): the same place says make model-env.
        app.showModelState(.none(missingEnvironment: true))
        app.press(.enter)
        XCTAssertEqual(app.model.message?.text, "no model environment for the text screen: make model-env first")
        XCTAssertTrue(text(app).contains("no model environment for the text screen: make model-env first"), text(app))
        // Esc leaves the field; with nothing scored it goes back where `i` was pressed.
        app.press(.escape)
        XCTAssertEqual(app.model.screen, .features)
    }

    func testEmptyTextIsOneLineAndNothingIsSent() throws {
        let app = try attachedController()
        app.press(.char("i"))
        app.type("   ")
        app.press(.enter)
        XCTAssertEqual(textJobs(app), 0)
        XCTAssertEqual(app.model.message, StatusMessage(text: "the text is empty: type a sentence, then Enter (nothing was sent)", isError: true))
    }

    /// "Does feature j fire on this?": from j's detail, `i`, a sentence, Enter. The scan runs as a
    /// job; its codes are the encoder's of the model's activations (here the fixture embedding).
    func testFromTheDetailScreenTheTextIsScoredWithThatFeatureSelected() throws {
        let app = try attachedController()
        // A feature that fires on "bennet": the reference encoder of its embedding.
        let tokenizer = try XCTUnwrap(app.session.tokenizer)
        let bennet = try XCTUnwrap((0..<tokenizer.count).first { tokenizer.token($0) == "bennet" })
        let j = try XCTUnwrap(referenceCodes(app, token: Int32(bennet)).first).feature
        app.type(":\(j)\n")
        XCTAssertEqual(app.model.screen, .detail)
        app.press(.char("i"))
        XCTAssertEqual(app.model.screen, .text)
        XCTAssertEqual(app.model.text.feature, j)
        app.type("mr darcy and miss bennet")
        app.press(.enter)
        XCTAssertEqual(textJobs(app), 1)  // a background job: the key returned before any model ran
        XCTAssertTrue(text(app).contains("scoring"), text(app))
        app.finishJobs()
        let result = try XCTUnwrap(app.model.text.result)
        XCTAssertEqual(result.tokenTexts.map { $0.trimmingCharacters(in: .whitespaces) }, ["mr", "darcy", "and", "miss", "bennet"])
        for t in result.scan.tokens.indices {
            let expected = referenceCodes(app, token: result.scan.tokens[t])
            let got = result.scan.features(at: t)
            XCTAssertEqual(got.map(\.feature), expected.map(\.feature), "token \(t)")
            for (a, b) in zip(got, expected) { XCTAssertEqual(a.value, b.value, accuracy: 1e-4 * max(1, abs(b.value))) }
        }
        // The caret on j's highest token, the tokens focused; every feature of the text listed by its maximum.
        let best = result.scan.maxActivation(of: j)
        XCTAssertEqual(app.model.text.cursor, best.position)
        XCTAssertEqual(app.model.text.focus, .tokens)
        let maxima = (0..<app.session.sae.featureCount).map { result.scan.maxActivation(of: $0).value }.enumerated().filter { $0.element > 0 }
        XCTAssertEqual(Set(app.model.text.rows.map(\.feature)), Set(maxima.map(\.offset)))
        XCTAssertEqual(app.model.text.rows.map(\.max), app.model.text.rows.map(\.max).sorted(by: >))
        assertScreen(app, width: 80, height: 24, named: "text-80x24")
        assertScreen(app, width: 160, height: 48, named: "text-160x48")
        // Monochrome: the highest token of the selected feature is bracketed.
        XCTAssertTrue(text(app, monochrome: true).contains("[" + result.tokenTexts[best.position!].trimmingCharacters(in: .whitespaces) + "]"), text(app, monochrome: true))
    }

    func testFocusTokensFeaturesAndOpeningAFeatureAndComingBack() throws {
        let app = try attachedController()
        app.press(.char("i"))
        app.type("the cat sat on the mat")
        app.press(.enter)
        app.finishJobs()
        XCTAssertEqual(app.model.text.focus, .tokens)
        // The hint line shows the focused part's keys: the field's only while it has the focus.
        let hints = { self.text(app).split(separator: "\n").last.map(String.init) ?? "" }
        XCTAssertTrue(hints().hasPrefix("Tab focus: text / tokens / features") && !hints().contains("Enter send"), hints())
        app.press(.char("i"))
        XCTAssertTrue(hints().hasPrefix("Enter send  Tab tokens"), hints())
        app.press(.escape)
        XCTAssertEqual(app.model.text.focus, .tokens)
        // Left/Right move the caret between tokens; the features there follow.
        app.press(.char("g"))
        app.press(.home)
        let start = app.model.text.cursor
        app.press(.right)
        XCTAssertEqual(app.model.text.cursor, min(start + 1, 5))
        while app.model.text.cursor > 0 { app.press(.left) }
        app.press(.right)
        XCTAssertEqual(app.model.text.cursor, 1)
        let atCat = app.model.text.featuresAtCursor
        XCTAssertFalse(atCat.isEmpty)
        // j in the token's features selects the second one: it shades the tokens; Enter opens it.
        if atCat.count > 1 {
            app.press(.char("j"))
            XCTAssertEqual(app.model.text.feature, atCat[1].feature)
        }
        let opened = app.model.text.selectedFeature
        app.press(.enter)
        XCTAssertEqual(app.model.screen, .detail)
        XCTAssertEqual(app.model.detail.feature, opened)
        // q comes back to the same text; `i` from a detail reached from here does not stack a second text screen.
        app.press(.char("q"))
        XCTAssertEqual(app.model.screen, .text)
        XCTAssertEqual(app.model.text.cursor, 1)
        // Tab: tokens -> features over the text -> field -> tokens.
        app.press(.tab)
        XCTAssertEqual(app.model.text.focus, .features)
        app.press(.char("j"))
        let second = app.model.text.rows[1].feature
        XCTAssertEqual(app.model.text.feature, second)
        app.press(.enter)
        XCTAssertEqual(app.model.detail.feature, second)
        app.press(.char("l"))  // the next feature on the detail screen, then `i`: back to the text with it selected
        let next = app.model.detail.feature
        app.press(.char("i"))
        XCTAssertEqual(app.model.screen, .text)
        XCTAssertEqual(app.model.previousScreens, [.features])
        XCTAssertEqual(app.model.text.feature, next)
        XCTAssertEqual(app.model.text.focus, .field)
        app.press(.tab)
        XCTAssertEqual(app.model.text.focus, .tokens)
        app.press(.char("q"))
        XCTAssertEqual(app.model.screen, .features)
    }

    func testFeaturesOverTheTextSort() throws {
        let app = try attachedController()
        app.press(.char("i"))
        app.type("the dog ran to the park")
        app.press(.enter)
        app.finishJobs()
        app.press(.tab)
        app.press(.char("s"))
        XCTAssertEqual(app.model.text.sort, .tokens)
        let counts = app.model.text.rows.map(\.tokens)
        XCTAssertEqual(counts, counts.sorted(by: >))
        app.press(.char("s"))
        app.press(.char("s"))
        XCTAssertEqual(app.model.text.sort, .id)
        XCTAssertEqual(app.model.text.rows.map(\.feature), app.model.text.rows.map(\.feature).sorted())
        app.press(.char("S"))
        XCTAssertEqual(app.model.text.rows.map(\.feature), app.model.text.rows.map(\.feature).sorted(by: >))
    }

    /// A paste arrives as one read: its line breaks stay in the text; an Enter alone sends.
    func testPastedLineBreaksStayAndHistoryRecallsEarlierTexts() throws {
        let app = try attachedController()
        app.press(.char("i"))
        app.handle([.char("t"), .char("h"), .char("e"), .enter, .char("c"), .char("a"), .char("t"), .tab, .char("s"), .char("a"), .char("t")])
        XCTAssertEqual(app.model.text.field.text, "the\ncat\tsat")
        XCTAssertEqual(app.model.text.focus, .field)
        app.handle([.backspace, .backspace, .backspace, .backspace])
        XCTAssertEqual(app.model.text.field.text, "the\ncat")
        XCTAssertEqual(textJobs(app), 0)
        app.handle([.enter])
        app.finishJobs()
        XCTAssertEqual(app.model.text.result?.scan.tokens.count, 2)
        app.press(.char("i"))
        app.press(.ctrl("u"))
        app.type("a big red ball")
        app.press(.enter)
        app.finishJobs()
        app.press(.char("i"))
        app.press(.ctrl("u"))
        app.press(.up)
        XCTAssertEqual(app.model.text.field.text, "a big red ball")
        app.press(.up)
        XCTAssertEqual(app.model.text.field.text, "the\ncat")
        app.press(.down)
        XCTAssertEqual(app.model.text.field.text, "a big red ball")
    }

    func testTextLongerThanTheContextIsScoredInWindowsSaidOnce() throws {
        let app = try attachedController(Engine(textContext: 4))  // [CLS] and 3 tokens a window
        app.press(.char("i"))
        app.type("she said hello world to the big red ball")
        app.press(.enter)
        app.finishJobs()
        let result = try XCTUnwrap(app.model.text.result)
        XCTAssertEqual(result.scan.windows, [0..<3, 3..<6, 6..<9])
        XCTAssertEqual(app.model.message?.text, "the text's 9 tokens are longer than the model's context of 4: scored in 3 windows that each see only their own tokens")
        XCTAssertTrue(text(app).contains("3 windows"), text(app))
        app.press(.right)
        XCTAssertNil(app.model.message)  // said once
    }

    /// The model process dies mid-request: one line on the status line, the screen and the last
    /// scored text stay.
    func testAModelThatDiesMidRequestIsOneLineAndTheScreenStays() throws {
        let engine = Engine()
        let app = try attachedController(engine)
        app.press(.char("i"))
        app.type("the cat sat")
        app.press(.enter)
        app.finishJobs()
        let before = try XCTUnwrap(app.model.text.result)
        engine.textModel.fail(with: "the model process exited unexpectedly (signal 9)")
        app.press(.char("i"))
        app.press(.ctrl("u"))
        app.type("the dog ran")
        app.press(.enter)
        app.finishJobs()
        XCTAssertEqual(app.model.screen, .text)
        XCTAssertEqual(app.model.message, StatusMessage(text: "scoring the text failed: the model process exited unexpectedly (signal 9)", isError: true))
        XCTAssertEqual(app.model.text.result?.text, before.text)
        XCTAssertNil(app.model.text.job)
        assertScreen(app, width: 80, height: 24, named: "text-error-80x24")
    }

    /// Enter while the model loads: the text waits and goes once the model is ready.
    func testTextSentWhileTheModelLoadsGoesWhenItIsReady() throws {
        let app = try AppFixture.controller()
        let engine = Engine()
        let gate = DispatchSemaphore(value: 0)
        app.attachModel(ModelRequest(model: "/models/tiny-llama", layer: "1", hook: nil), connect: { _, started in
            started(0)
            gate.wait()
            return engine
        })
        app.press(.char("i"))
        app.type("hello world")
        app.press(.enter)
        XCTAssertTrue(app.model.text.waitingForModel)
        XCTAssertEqual(app.model.message?.text, "the model is still loading: the text goes as soon as it is ready (J: jobs)")
        gate.signal()
        settle(app)
        XCTAssertFalse(app.model.text.waitingForModel)
        XCTAssertEqual(app.model.text.result?.scan.tokens.count, 2)
        XCTAssertFalse(app.model.message?.text.contains("still loading") ?? false, "the notice went with the text")
    }

    /// The field wraps at spaces: every row of the text pane holds whole words; a word wider
    /// than the pane is cut at its edge.
    func testTheFieldWrapsAtSpaces() throws {
        let app = try AppFixture.controller()
        app.press(.char("i"))
        let words = ["elizabeth", "walked", "to", "pemberley", "with", "her", "aunt", "and", "uncle", "gardiner", "in", "the", "summer"]
        app.type((words + words + words).joined(separator: " "))
        let rows = text(app, 60, 24).split(separator: "\n").prefix(6).compactMap { row -> String? in
            guard let open = row.firstIndex(of: "│"), let close = row.lastIndex(of: "│"), open < close else { return nil }
            return String(row[row.index(after: open)..<close])
        }
        XCTAssertGreaterThanOrEqual(rows.count, 2, "the text wraps: \(text(app, 60, 24))")
        for row in rows {
            XCTAssertFalse(row.hasPrefix(" "), "a row starts with the space that ended the one before: \(rows)")
            for word in row.split(separator: " ") { XCTAssertTrue(words.contains(String(word)), "'\(word)' is cut in \(rows)") }
        }
        app.type(" " + String(repeating: "x", count: 60))
        let long = text(app, 60, 24)
        XCTAssertTrue(long.contains(String(repeating: "x", count: 58)), long)
    }

    /// An index opened without its cache (`open --sae S --index I --model M`): the model serves
    /// the text screen; CE needs the cache's tokens, so no CE rows and `:ce` says why in one line.
    func testWithoutACacheTheModelServesTheTextScreenButNoCE() throws {
        let built = try AppFixture.controller()
        let base = built.session
        let session = DictionarySession(saePath: base.saePath, sae: base.sae, cachePath: nil, cache: nil,
                                        tokenizer: base.tokenizer, indexPath: base.indexPath)
        let app = AppController(session: session, indexState: .loaded(try IndexFile.read(path: base.indexPath)), jobs: JobCenter())
        app.uptimeNanoseconds = { 1_000_000_000 }
        let engine = Engine()
        app.attachModel(ModelRequest(model: "/models/tiny-llama", layer: "1", hook: nil), connect: { _, started in started(0); return engine })
        settle(app)
        XCTAssertEqual(app.model.modelAttachment, .ready(description: "tiny-llama layer 1 (model.layers.1)"))
        XCTAssertTrue(app.model.modelLoss.isEmpty, "no CE job without a cache")
        app.press(.char("o"))
        XCTAssertEqual(app.model.screen, .overview)
        XCTAssertFalse(text(app, 120, 40).contains("CE"), "no CE rows on the overview: \(text(app, 120, 40))")
        // With the cache the same model gives CE rows (the assertion above can fail).
        built.attachModel(ModelRequest(model: "/models/tiny-llama", layer: "1", hook: nil), connect: { _, started in started(0); return Engine() })
        settle(built)
        built.press(.char("o"))
        XCTAssertTrue(text(built, 120, 40).contains("CE"), text(built, 120, 40))
        app.press(.char("i"))
        app.type("the cat sat")
        app.press(.enter)
        settle(app)
        let result = try XCTUnwrap(app.model.text.result)
        XCTAssertEqual(result.scan.tokens.count, 3)
        for t in result.scan.tokens.indices {
            XCTAssertEqual(result.scan.features(at: t).map(\.feature), referenceCodes(app, token: result.scan.tokens[t]).map(\.feature), "token \(t)")
        }
        app.press(.escape)
        app.press(.char(":"))
        app.type("ce")
        app.press(.enter)
        XCTAssertEqual(app.model.message, StatusMessage(text: "CE loss runs the model on the cache's tokens: saescope open --acts CACHE", isError: true))
    }

    /// A slow model: the keys go on being handled while it runs (the screen says "scoring…"),
    /// and `x` (off the field) cancels; the screen says so in one line.
    func testScoringRunsInTheBackgroundAndXCancelsIt() throws {
        let engine = Engine()
        let app = try attachedController(engine)
        app.press(.char("i"))
        app.press(.tab)
        app.press(.char("x"))
        XCTAssertEqual(app.model.message?.text, "no text is being scored")
        app.press(.char("i"))
        engine.textModel.hold()
        app.type("the cat sat")
        app.press(.enter)
        XCTAssertFalse(app.jobs.waitUntilIdle(timeout: 0.2))  // the model has not answered
        app.handleJobEvents()
        XCTAssertTrue(text(app).contains("scoring\u{2026}"), text(app))
        app.press(.tab)  // the UI is not waiting: keys are handled
        XCTAssertEqual(app.model.text.focus, .tokens)
        app.press(.char("x"))
        engine.textModel.release()
        app.finishJobs()
        XCTAssertEqual(app.model.message, StatusMessage(text: "scoring the text was cancelled", isError: false))
        XCTAssertNil(app.model.text.result)
        XCTAssertNil(app.model.text.job)
    }

    /// While the first index build runs the screen works; the top tokens come with the index.
    func testWorksBeforeTheIndexIsBuilt() throws {
        let engine = Engine()
        // The index build is started and cancelled at once: no index, as in the first seconds.
        let empty = AppController(session: try AppFixture.session(), indexState: .needsBuild(reason: "test"), jobs: JobCenter(), progressiveSteps: 1)
        empty.jobs.cancelAll()
        settle(empty)
        empty.uptimeNanoseconds = { 1_000_000_000 }
        empty.attachModel(ModelRequest(model: "/models/tiny-llama", layer: "1", hook: nil), connect: { _, started in started(0); return engine })
        settle(empty)
        XCTAssertNil(empty.model.index)
        empty.press(.char("i"))
        empty.type("the cat sat")
        empty.press(.enter)
        settle(empty)
        XCTAssertEqual(empty.model.text.result?.scan.tokens.count, 3)
        XCTAssertTrue(text(empty).contains("Features over the text"), text(empty))
        XCTAssertTrue(text(empty).contains("#"), text(empty))
    }
}
