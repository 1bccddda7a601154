import App
import Foundation
import SAECore
import TUI
import XCTest

/// A language model attached to the browser (open --model): the load and CE jobs, what the
/// overview and compare screens show, cancel and failure. The model here is a test double
/// (`ScriptedModelEngine`); the real bridge is tested end to end in SaescopeCLITests
/// (ModelInterfaceEndToEndTests) on a tiny random Llama.
final class ModelAttachmentTests: XCTestCase {
    /// Deterministic CE numbers for a session's cache: they depend on the dictionary's F so the
    /// two sides of a comparison differ; progress and partials as the real evaluator posts them.
    final class ScriptedModelEngine: ModelLossEngine, @unchecked Sendable {
        let info: ModelBridge.Info
        let waitForCancel: Bool
        let lock = NSLock()
        var evaluations = 0
        var terminated = false

        init(waitForCancel: Bool = false, textContext: Int? = 64) {
            self.waitForCancel = waitForCancel
            textModel = FakeTextModel(contextLength: textContext)
            info = ModelBridge.Info(model: "/models/tiny-llama", architecture: "llama", layerCount: 2, dModel: AppFixture.d,
                                    vocabularySize: 64, bosTokenID: 0, prefixTokenIDs: [0], hook: "model.layers.1", layer: "1",
                                    resumes: true, tokenizerFile: nil, contextLength: textContext)
        }

        static func metrics(featureCount: Int, positions: Int) -> ModelLossMetrics {
            var m = ModelLossMetrics()
            m.ceClean = 2.5
            m.ceWithSAE = 2.5 + 1.0 / Double(featureCount)
            m.ceZeroAblation = 7.25
            m.ceMeanAblation = 5.5
            m.ceIdentitySplice = 2.5
            m.klWithSAE = 0.125
            m.klZeroAblation = 4.5
            m.klMeanAblation = 3.0
            m.predictionCount = 71
            for t in 1...positions {
                let x = Double(t)
                m.byPosition.append(ModelLossMetrics.PositionLoss(position: t, ceClean: 4.0 - 0.25 * x, ceWithSAE: 4.5 - 0.2 * x, count: 8))
            }
            return m
        }

        func evaluate(_ sae: SparseAutoencoder, cache: ActivationCache, request: ModelRequest, progress: @escaping (Int, Int) -> Void,
                      partial: @escaping (ModelLossMetrics) -> Void, isCancelled: @escaping () -> Bool) throws -> ModelLossMetrics {
            lock.withLock { evaluations += 1 }
            progress(0, cache.sequenceCount)
            while waitForCancel {
                if isCancelled() { throw SaescopeError("cancelled") }
                Thread.sleep(forTimeInterval: 0.01)
            }
            partial(Self.metrics(featureCount: sae.featureCount, positions: 4))
            progress(cache.sequenceCount, cache.sequenceCount)
            return Self.metrics(featureCount: sae.featureCount, positions: 9)
        }

        func unembedding(dimension: Int) throws -> Unembedding {
            let v = 64  // more logits than the fixture tokenizer has tokens: a padding warning, as for Pythia
            return try Unembedding(head: (0..<(v * dimension)).map { Float(($0 * 7) % 11) - 5 }, vocabularySize: v,
                                   dimension: dimension, source: "the LM head of tiny-llama")
        }

        /// The text screen's model: the fixture's tokens and embeddings (FakeTextModel), run
        /// through the real `TextFeatureScan` as the bridge's are.
        let textModel: FakeTextModel

        func scanText(_ text: String, sae: SparseAutoencoder) throws -> TextFeatureScan {
            try lock.withLock { try TextFeatureScan(text: text, model: textModel, sae: sae) }
        }

        func terminate() { lock.withLock { terminated = true } }
    }

    private func settle(_ app: AppController) {
        for _ in 0..<3 {
            XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 30))
            app.handleJobEvents()
        }
    }

    private func attach(_ app: AppController, _ engine: ScriptedModelEngine) {
        var request = ModelRequest(model: "/models/tiny-llama", layer: "1", hook: nil)
        request.maxTokens = 16_384
        app.attachModel(request, connect: { _, started in started(0); return engine })
    }

    private func text(_ app: AppController, _ width: Int = 80, _ height: Int = 24) -> String {
        app.frame(width: width, height: height).render().joined(separator: "\n")
    }

    func testAttachedModelFillsTheOverviewsCERowsAndPlot() throws {
        let app = try AppFixture.controller()
        let engine = ScriptedModelEngine()
        attach(app, engine)
        XCTAssertEqual(app.model.modelAttachment, .loading(model: "/models/tiny-llama"))
        app.press(.char("o"))
        XCTAssertTrue(text(app).contains("loading tiny-llama"), text(app))
        settle(app)
        XCTAssertEqual(app.model.modelAttachment, .ready(description: "tiny-llama layer 1 (model.layers.1)"))
        let expected = ScriptedModelEngine.metrics(featureCount: app.session.sae.featureCount, positions: 9)
        guard case .done(let metrics)? = app.model.modelLoss[.a] else { return XCTFail("no CE for A: \(String(describing: app.model.modelLoss[.a]))") }
        XCTAssertEqual(metrics.ceWithSAE, expected.ceWithSAE)
        XCTAssertEqual(engine.evaluations, 1)
        // The model's LM head became the unembedding: logit effects without --unembed.
        XCTAssertEqual(app.session.unembedding?.vocabularySize, 64)

        assertScreen(app, width: 80, height: 24, named: "overview-model-80x24")
        assertScreen(app, width: 160, height: 48, named: "overview-model-160x48")
        // The cursor reaches the CE rows, and the definition line follows it.
        let lossRow = try XCTUnwrap(app.overviewMetricRows().firstIndex { $0.key == "loss_recovered" })
        for _ in 0..<lossRow { app.press(.down) }
        let screen = text(app, 160, 48)
        XCTAssertTrue(screen.contains("(ce_zero_ablation - ce_with_sae) / (ce_zero_ablation - ce_clean)"), screen)
        XCTAssertTrue(screen.contains(String(format: "%.6g", expected.lossRecovered)), screen)
    }

    func testCompareScreenShowsBothDictionariesCE() throws {
        let app = try AppFixture.comparingController()
        let engine = ScriptedModelEngine()
        attach(app, engine)
        settle(app)
        XCTAssertEqual(engine.evaluations, 2)
        let b: Int = try XCTUnwrap(app.model.comparison?.other.sae.featureCount)
        guard case .done(let metricsB)? = app.model.modelLoss[.b] else { return XCTFail("no CE for B") }
        XCTAssertEqual(metricsB.ceWithSAE, ScriptedModelEngine.metrics(featureCount: b, positions: 9).ceWithSAE)
        assertScreen(app, width: 80, height: 24, named: "compare-model-80x24")
        assertScreen(app, width: 160, height: 48, named: "compare-model-160x48")
    }

    func testCEJobCancelsFromTheJobsScreenAndColonCERestartsIt() throws {
        let app = try AppFixture.controller()
        let engine = ScriptedModelEngine(waitForCancel: true)
        attach(app, engine)
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 30))  // the model loads
        app.handleJobEvents()
        XCTAssertFalse(app.jobs.waitUntilIdle(timeout: 0.3))  // the CE job waits for its cancel
        app.handleJobEvents()
        app.press(.char("J"))
        let row = try XCTUnwrap(app.model.jobs.firstIndex { $0.kind == "model loss A" && $0.state == .running })
        while app.model.jobsTable.selected < row { app.press(.down) }
        while app.model.jobsTable.selected > row { app.press(.up) }
        app.press(.char("x"))
        settle(app)
        guard case .cancelled? = app.model.modelLoss[.a] else { return XCTFail("not cancelled: \(String(describing: app.model.modelLoss[.a]))") }
        app.press(.char("o"))
        XCTAssertTrue(text(app).contains("CE cancelled: :ce computes it again"), text(app))
        XCTAssertEqual(app.session.unembedding?.vocabularySize, 64)
        app.type(":ce\n")
        app.handleJobEvents()
        XCTAssertTrue(text(app).contains("computing CE"), text(app))
        engine.lock.withLock { engine.evaluations = 0 }
        // a scripted engine that waits for cancel again: cancel it to leave no job behind
        app.jobs.cancelAll()
        settle(app)
    }

    func testLoadFailureAndMissingEnvironmentAreOneLineOnScreen() throws {
        let app = try AppFixture.controller()
        app.attachModel(ModelRequest(model: "/nonexistent", layer: "1", hook: nil), connect: { _, _ in
            throw SaescopeError("the model process exited with status 1 during `hello`: /nonexistent: not a model directory")
        })
        settle(app)
        XCTAssertEqual(app.model.modelAttachment,
                       .failed("the model process exited with status 1 during `hello`: /nonexistent: not a model directory"))
        app.press(.char("o"))
        XCTAssertTrue(text(app, 160, 48).contains("model: the model process exited with status 1"), text(app, 160, 48))

        let hinted = try AppFixture.controller()
        let hint = "CE loss: make model-env first"
        hinted.showModelState(.none(missingEnvironment: true))
        hinted.press(.char("o"))
        XCTAssertTrue(text(hinted).contains(hint), text(hinted))
        hinted.type(":3\n")
        XCTAssertTrue(text(hinted, 160, 48).contains("make model-env"), text(hinted, 160, 48))
        // The detail's logit-effects pane says how to get logit effects, not "CE loss: ...".
        XCTAssertTrue(text(hinted, 160, 48).contains("--unembed W_U [D, V] gives them;"), text(hinted, 160, 48))
        XCTAssertFalse(text(hinted, 160, 48).contains("CE loss"), text(hinted, 160, 48))
        // no model wanted: the overview is as before (no CE rows)
        let plain = try AppFixture.controller()
        plain.press(.char("o"))
        XCTAssertFalse(text(plain, 160, 48).contains("CE"), text(plain, 160, 48))
    }

    func testQuittingEndsTheModelProcess() throws {
        let app = try AppFixture.controller()
        let engine = ScriptedModelEngine()
        attach(app, engine)
        settle(app)
        app.detachModel()
        XCTAssertTrue(engine.lock.withLock { engine.terminated })
    }
}
