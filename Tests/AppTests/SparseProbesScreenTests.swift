import App
import Foundation
import SAECore
import TestSupport
import TUI
import XCTest

/// The probes screen's sparse probing ("sae top-k" methods): the method cycle, the matrix against
/// scikit-learn, the chosen latents listed under it and opened with Enter, and the screens.
final class SparseProbesScreenTests: XCTestCase {
    private func text(_ app: AppController, width: Int = 160, height: Int = 48) -> String {
        app.frame(width: width, height: height).render().joined(separator: "\n")
    }

    /// On the probes screen with `m` pressed `presses` times and everything computed.
    private func probes(methodPresses presses: Int) throws -> AppController {
        let app = try ProbesFixture.controller()
        app.press(.char("p"))
        ProbesFixture.settle(app)
        for _ in 0..<presses { app.press(.char("m")) }
        ProbesFixture.settle(app)
        return app
    }

    func testMethodsCycleThroughOneSparseMethodPerKAfterTheLinearOnes() throws {
        let app = try ProbesFixture.controller()
        app.press(.char("p"))
        var names: [String] = []
        for _ in 0..<10 {
            names.append(app.model.probes.methodName)
            app.press(.char("m"))
        }
        // F = 16: SAEBench's k = 20 exceeds it and is left out.
        XCTAssertEqual(names, ["dim", "dim-iid", "lda", "lr", "lr-l2", "sae top-1", "sae top-2", "sae top-5", "sae top-10", "dim"])
        XCTAssertEqual(app.model.probes.sparseK, nil)
        XCTAssertEqual(app.model.probes.method, .differenceInMeansIID)
    }

    func testASparseMethodComputesItsMatrixInTheBackgroundAndEncodesOnce() throws {
        let app = try probes(methodPresses: 6)
        XCTAssertEqual(app.model.probes.methodName, "sae top-2")
        let matrix = try XCTUnwrap(app.model.probes.sparseMatrix)
        XCTAssertEqual(matrix.k, 2)
        XCTAssertEqual(Set(app.model.probes.latentCodes.keys), ["sums", "towns", "neg_towns"])
        XCTAssertTrue(text(app).contains("Probes  sae top-2"), text(app))
        XCTAssertNil(app.model.probes.alignmentJob, "sparse probing aligns nothing: it lists its latents")
        let sparseJobs = app.jobs.snapshot.filter { $0.kind == "probe-sparse" }.count
        app.press(.char("m"), .char("m"), .char("m"), .char("m"), .char("m"), .char("m"), .char("m"), .char("m"), .char("m"))
        XCTAssertEqual(app.model.probes.methodName, "sae top-2")
        ProbesFixture.settle(app)
        XCTAssertEqual(app.jobs.snapshot.filter { $0.kind == "probe-sparse" }.count, sparseJobs + 3,
                       "k = 5, 10 and 1 (superseded by k = 2 at first) on the way round; k = 2 is not computed again")
    }

    /// The screen's sparse matrix against scikit-learn, off the diagonal (a probe trained on all
    /// of a training set's rows, scored on another set): the codes relu(x W_enc + b_enc), each
    /// set centred on its own mean, the k latents with the largest |mean over positives - mean
    /// over negatives| (ties to the lower id), LogisticRegression(C=1) on them.
    func testTheSparseMatrixMatchesScikitLearnOffTheDiagonal() throws {
        let app = try probes(methodPresses: 6)
        let matrix = try XCTUnwrap(app.model.probes.sparseMatrix)
        let datasets = try XCTUnwrap(app.model.probes.datasets)
        let sae = app.session.sae
        let input: [String: Any] = [
            "d": sae.inputDimension, "f": sae.featureCount, "k": matrix.k,
            "W_enc": sae.encoderWeights, "b_enc": sae.encoderBias,
            "sets": Dictionary(uniqueKeysWithValues: datasets.map { ($0.name, ["x": $0.activations.values.map { Float($0) },
                                                                              "y": try! $0.labels("label")]) }),
            "train": matrix.trainSets, "test": matrix.testSets, "latents": matrix.latents, "accuracy": matrix.accuracy, "auroc": matrix.auroc,
        ]
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-sparse-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: input).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = PythonScript.run("""
        import json
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        a = json.load(open('\(file.path)'))
        d, F, k = a['d'], a['f'], a['k']
        W_enc = np.array(a['W_enc'], dtype=np.float64).reshape(d, F)
        b_enc = np.array(a['b_enc'], dtype=np.float64)
        def codes(name):
            x = np.array(a['sets'][name]['x'], dtype=np.float32).astype(np.float64).reshape(-1, d)
            f = np.maximum(x @ W_enc + b_enc, 0)
            return f - f.mean(axis=0), np.array(a['sets'][name]['y'], dtype=bool)
        checked, exact = 0, 0
        for r, spec in enumerate(a['train']):
            parts = [codes(n) for n in spec.split('+')]
            f = np.vstack([p[0] for p in parts]); y = np.concatenate([p[1] for p in parts])
            gap = np.abs(f[y].mean(axis=0) - f[~y].mean(axis=0))
            latents = sorted(range(F), key=lambda j: (-gap[j], j))[:k]
            assert latents == a['latents'][r], (spec, latents, a['latents'][r])
            model = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(f[:, latents], y)
            for c, test in enumerate(a['test']):
                if test in spec.split('+'):
                    continue
                ft, yt = codes(test)
                s = model.decision_function(ft[:, latents])
                accuracy = ((s > 0) == yt).mean()
                assert abs(accuracy - a['accuracy'][r][c]) <= 1e-3, (spec, test, accuracy, a['accuracy'][r][c])
                # Codes that are 0 in float64 can be 1e-7 in saescope's float32 sgemm (and the
                # reverse), which orders tied statements either way: pairs whose scores lie within
                # 1e-5 may go either way, the rest must agree with roc_auc_score.
                diff = s[yt][:, None] - s[~yt][None, :]
                low, high = (diff > 1e-5).mean(), (diff >= -1e-5).mean()
                assert low - 1e-3 <= a['auroc'][r][c] <= high + 1e-3, (spec, test, low, high, a['auroc'][r][c])
                if low == high:
                    assert abs(roc_auc_score(yt, s) - a['auroc'][r][c]) <= 1e-3, (spec, test)
                    exact += 1
                checked += 1
        assert checked >= 4 and exact >= 2, (checked, exact)
        print('ok')
        """)
        XCTAssertEqual(output.split(separator: "\n").last, "ok", output)
    }

    func testTheChosenLatentsAreListedUnderTheMatrixAndEnterOpensOne() throws {
        let app = try probes(methodPresses: 7)
        XCTAssertEqual(app.model.probes.methodName, "sae top-5")
        let matrix = try XCTUnwrap(app.model.probes.sparseMatrix)
        app.press(.tab)
        // Row 0 (sums), column 1 (towns): trained on all of sums, so the latents chosen on all rows.
        app.press(.right)
        XCTAssertFalse(app.model.probes.chosenOnSplit)
        XCTAssertEqual(app.model.probes.chosenLatents, matrix.latents[0])
        XCTAssertTrue(text(app).contains("Latents of the sae top-5 probe trained on sums"), text(app))
        XCTAssertTrue(text(app).contains("chosen on all rows"))
        // Column 0 (sums itself): the held-out 20%, so the latents chosen on the 80%.
        app.press(.left)
        XCTAssertTrue(app.model.probes.chosenOnSplit)
        XCTAssertEqual(app.model.probes.chosenLatents, matrix.splitLatents[0])
        XCTAssertTrue(text(app).contains("chosen on the 80%"))
        app.press(.enter)
        XCTAssertEqual(app.model.probes.pane, .features)
        app.press(.down)
        let second = app.model.probes.chosenLatents[1]
        app.press(.enter)
        XCTAssertEqual(app.model.screen, .detail)
        XCTAssertEqual(app.model.detail.feature, second)
        app.press(.char("q"))
        XCTAssertEqual(app.model.screen, .probes)
    }

    func testScreens() throws {
        let app = try probes(methodPresses: 7)
        app.press(.tab, .down)
        assertScreen(app, width: 80, height: 24, named: "probes-sparse-80x24")
        assertScreen(app, width: 160, height: 48, named: "probes-sparse-160x48")
    }
}
