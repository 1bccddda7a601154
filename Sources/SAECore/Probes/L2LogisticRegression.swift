import CBLAS
import CLAPACK
import Foundation

/// L2-regularised logistic regression with an unpenalised intercept: scikit-learn's default
/// `LogisticRegression(C=1.0, penalty='l2', fit_intercept=True)`. It minimises
///
///     C * sum_i logloss(y_i, w . x_i + b) + 0.5 * ||w||^2
///
/// which is strictly convex in `w` (and in `b` once both classes occur), so the minimiser is
/// unique and any solver that converges reaches the same point. scikit-learn gets there with
/// L-BFGS and stops early by default (tol 1e-4: on the probe fixtures its default coefficients are
/// up to 0.25% from the optimum); this runs damped Newton to the optimum, deterministically:
///
/// 1. a thin SVD `X = U S Vᵀ` (LAPACK). The loss sees `w` only through `X w`, and the penalty
///    pushes the part of `w` outside the row space of `X` to zero, so `w = V z` exactly and the
///    problem becomes the same regression on `Z = U S` (`n x r`, r = rank) with penalty `||z||²`.
///    Every Newton system is then `(r+1) x (r+1)`, r <= min(n, D): a 1 500-statement dataset at
///    D = 5 120 needs 1 501², not 5 121², per iteration;
/// 2. Newton steps `H Δ = g` with `H = C Z̃ᵀ diag(p(1-p)) Z̃ + diag(1, …, 1, 0)` (`Z̃ = [Z, 1]`,
///    BLAS dsyrk, LAPACK Cholesky dposv), each with an Armijo backtracking line search on the
///    objective, until the Newton decrement `gᵀΔ / 2` (the predicted distance to the optimum of
///    the objective) is below `1e-22 * max(1, objective)`.
///
/// The probe methods feed it each dataset's activations centred on that dataset's own mean,
/// as for every other method; not standardised (scikit-learn's docs recommend standardising, but
/// the per-dimension scale of the residual stream is part of what a probe direction means, and
/// the other methods see the same centred inputs).
public enum L2LogisticRegression {
    public struct Fit: Sendable, Equatable {
        /// `w`, one weight per input dimension (scikit-learn's `coef_[0]`).
        public var weights: [Double]
        /// `b` (scikit-learn's `intercept_[0]`).
        public var intercept: Double
        /// Newton iterations taken.
        public var iterations: Int
        /// Whether the Newton decrement fell below the tolerance within `maxIterations`.
        public var converged: Bool
        /// The objective `C * sum(logloss) + 0.5 * ||w||²` at the solution.
        public var objective: Double
    }

    /// Fits `x` (`[n, D]`) against labels `y`; `c` is scikit-learn's `C` (inverse regularisation).
    public static func fit(x: Matrix, y: [Bool], c: Double = 1, maxIterations: Int = 100) throws -> Fit {
        guard x.rows == y.count, x.rows > 0 else { throw SaescopeError("logistic regression needs one label per row") }
        guard c > 0, c.isFinite else { throw SaescopeError("the inverse regularisation C must be positive, got \(c)") }
        guard x.values.allSatisfy(\.isFinite) else { throw SaescopeError("logistic regression input holds NaN or infinity") }
        let n = x.rows
        let targets = y.map { $0 ? 1.0 : 0.0 }

        // 1. Reduce to the row space of X.
        let (u, s, vt) = try x.thinSVD()
        let cutoff = (s.first ?? 0) * Double(max(x.rows, x.columns)) * Double.ulpOfOne
        let rank = s.prefix { $0 > cutoff }.count
        let p = rank + 1  // z and the intercept
        var z = [Double](repeating: 0, count: n * rank)  // Z = U S, row-major [n, rank]
        for i in 0..<n { for k in 0..<rank { z[i * rank + k] = u[i, k] * s[k] } }

        // 2. Damped Newton on theta = (z, b).
        var theta = [Double](repeating: 0, count: p)
        func margins(_ theta: [Double]) -> [Double] {
            var m = [Double](repeating: theta[rank], count: n)
            if rank > 0 { cblas_dgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(rank), 1, z, Int32(rank), theta, 1, 1, &m, 1) }
            return m
        }
        func objective(_ theta: [Double], _ m: [Double]) -> Double {
            var loss = 0.0
            for i in 0..<n { loss += softplus(targets[i] == 1 ? -m[i] : m[i]) }
            var penalty = 0.0
            for k in 0..<rank { penalty += theta[k] * theta[k] }
            return c * loss + 0.5 * penalty
        }

        var m = margins(theta)
        var value = objective(theta, m)
        var iterations = 0, converged = false
        var scaled = [Double](repeating: 0, count: n * p)
        while iterations < maxIterations {
            iterations += 1
            let probability = m.map(sigmoid)
            let residual = (0..<n).map { c * (probability[$0] - targets[$0]) }
            var gradient = [Double](repeating: 0, count: p)
            if rank > 0 { cblas_dgemv(CblasRowMajor, CblasTrans, Int32(n), Int32(rank), 1, z, Int32(rank), residual, 1, 0, &gradient, 1) }
            for k in 0..<rank { gradient[k] += theta[k] }
            gradient[rank] = residual.reduce(0, +)

            // H = Wᵀ W + diag(1, …, 1, 0), W's rows sqrt(C p (1-p)) [z_i, 1].
            for i in 0..<n {
                let weight = (c * probability[i] * (1 - probability[i])).squareRoot()
                for k in 0..<rank { scaled[i * p + k] = weight * z[i * rank + k] }
                scaled[i * p + rank] = weight
            }
            var hessian = [Double](repeating: 0, count: p * p)
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(p), Int32(n), 1, scaled, Int32(p), 0, &hessian, Int32(p))
            for k in 0..<rank { hessian[k * p + k] += 1 }
            var step = gradient
            var factor = hessian
            if LAPACKE_dposv(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "U")), Int32(p), 1, &factor, Int32(p), &step, 1) != 0 {
                // Only when every probability has saturated to 0 or 1 and the intercept's curvature
                // vanished in floating point: fall back to a diagonally scaled gradient step.
                step = (0..<p).map { gradient[$0] / max(hessian[$0 * p + $0], 1) }
            }
            let decrease = zip(gradient, step).map(*).reduce(0, +)  // gᵀΔ, twice the Newton decrement squared
            if decrease / 2 <= 1e-22 * max(1, abs(value)) {
                converged = true
                break
            }
            // Armijo backtracking: accept the largest t = 2^-j with f(θ - tΔ) <= f(θ) - 1e-4 t gᵀΔ.
            var t = 1.0, accepted = false
            for _ in 0..<60 {
                let candidate = (0..<p).map { theta[$0] - t * step[$0] }
                let candidateMargins = margins(candidate)
                let candidateValue = objective(candidate, candidateMargins)
                if candidateValue <= value - 1e-4 * t * decrease {
                    theta = candidate
                    m = candidateMargins
                    value = candidateValue
                    accepted = true
                    break
                }
                t /= 2
            }
            if !accepted {
                // No representable decrease left: the iterate is optimal to working precision
                // when the predicted decrease is itself at rounding level.
                converged = decrease / 2 <= 1e-12 * max(1, abs(value))
                break
            }
        }

        // w = V z: back to the input space.
        var weights = [Double](repeating: 0, count: x.columns)
        if rank > 0 {
            cblas_dgemv(CblasRowMajor, CblasTrans, Int32(rank), Int32(x.columns), 1, vt.values, Int32(x.columns),
                        Array(theta[0..<rank]), 1, 0, &weights, 1)
        }
        return Fit(weights: weights, intercept: theta[rank], iterations: iterations, converged: converged, objective: value)
    }

    /// log(1 + e^t) without overflow.
    @inline(__always) static func softplus(_ t: Double) -> Double {
        t > 0 ? t + log1p(exp(-t)) : log1p(exp(t))
    }

    /// 1 / (1 + e^-t) without overflow.
    @inline(__always) static func sigmoid(_ t: Double) -> Double {
        if t >= 0 { return 1 / (1 + exp(-t)) }
        let e = exp(t)
        return e / (1 + e)
    }
}
