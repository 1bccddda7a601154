import Foundation
import SAECore
import XCTest

/// The chance level of a cosine ranking (`ChanceLevel`, computed from the distribution of the
/// cosine) against a numpy Monte-Carlo simulation with a fixed seed: the best cosine of F random
/// unit vectors with a fixed one, over many trials (tolerance: four standard errors of the
/// simulated mean plus 1e-3); and against scipy's quadrature of the same expectation, written with
/// the cosine's CDF from the regularised incomplete beta function (cos² ~ Beta(1/2, (D-1)/2)),
/// to 1e-5.
final class ChanceLevelTests: XCTestCase {
    func testExpectedBestCosineMatchesANumpySimulation() throws {
        // (D, F): the sample dictionary's shape, the 128-dimensional example, small and tiny cases.
        let cases = [(384, 2048), (384, 1536), (128, 4000), (16, 64), (3, 10), (512, 32768)]
        let computed = cases.map { ChanceLevel.expectedMaxCosine(dimension: $0.0, count: $0.1) }
        XCTAssertEqual(ChanceLevel.caption(dimension: 384, count: 2048), String(format: "chance %.2f for D=384, F=2048", computed[0]))
        XCTAssertEqual(ChanceLevel.expectedMaxCosine(dimension: 1, count: 3), 0.75, accuracy: 1e-12)
        try python("""
        import numpy as np
        from scipy import special, integrate
        def exact(d, f):
            cdf = lambda t: 0.5 + np.sign(t) * 0.5 * special.betainc(0.5, (d - 1) / 2, t * t)
            upper = integrate.quad(lambda t: 1 - cdf(t) ** f, 0, 1, limit=500, points=[0.05, 0.1, 0.2, 0.3])[0]
            lower = integrate.quad(lambda t: cdf(t) ** f, -1, 0, limit=500)[0]
            return upper - lower
        rng = np.random.default_rng(1234)
        cases = \(cases.map { [$0.0, $0.1] })
        computed = \(computed)
        for (d, f), value in zip(cases, computed):
            trials = 400 if f > 10000 else 2000
            if d <= 16:
                # Brute force: random Gaussian vectors, cosine with the first axis.
                x = rng.standard_normal((trials, f, d))
                best = (x[:, :, 0] / np.linalg.norm(x, axis=2)).max(axis=1)
            else:
                # The cosine with a fixed axis is x1 / sqrt(x1^2 + chi2(D-1)).
                x1 = rng.standard_normal((trials, f))
                rest = rng.chisquare(d - 1, size=(trials, f))
                best = (x1 / np.sqrt(x1 ** 2 + rest)).max(axis=1)
            mean, error = best.mean(), best.std() / np.sqrt(trials)
            assert abs(value - mean) < 4 * error + 1e-3, (d, f, value, mean, error)
            assert abs(value - exact(d, f)) < 1e-5, (d, f, value, exact(d, f))
            print(d, f, round(value, 4), round(mean, 4), round(error, 5))
        print('ok')
        """)
        // The figures: about 0.2 at D=384 with about 2,000 directions, about 0.31 at 4000 in 128.
        XCTAssertEqual(computed[0], 0.175, accuracy: 0.01)
        XCTAssertEqual(computed[2], 0.31, accuracy: 0.02)
    }
}
