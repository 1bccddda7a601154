import Foundation

/// The probe methods of the literature (see the README's probes section).
public enum ProbeMethod: String, Sendable, CaseIterable, Codable {
    /// Difference in means ("mass mean"): theta = mu_true - mu_false, score theta . x, no bias.
    case differenceInMeans = "dim"
    /// Its iid variant: theta . pinv(Sigma) x, Sigma the pooled within-class covariance.
    case differenceInMeansIID = "dim-iid"
    /// Linear discriminant analysis: the iid direction with a bias at the midpoint of the class
    /// means (shifted by the log prior ratio).
    case lda
    /// Logistic regression without bias, as the Geometry of Truth code trains it: binary
    /// cross-entropy, full-batch AdamW (lr 1e-3, weight decay 0.1, 1000 epochs), from zero.
    case logisticRegression = "lr"
    /// L2-regularised logistic regression with a bias, scikit-learn's default
    /// `LogisticRegression(C=1.0, penalty='l2', fit_intercept=True)`, solved to its optimum by
    /// damped Newton (see `L2LogisticRegression`). Inputs are the per-dataset centred
    /// activations, as for the other methods (not standardised).
    case logisticRegressionL2 = "lr-l2"
}

/// A trained linear probe: `score = direction . x + bias` on centred activations; true when > 0.
public struct LinearProbe: Sendable {
    public let method: ProbeMethod
    public let direction: [Double]
    public let bias: Double

    public func scores(_ x: Matrix) -> [Double] { x.times(direction).map { $0 + bias } }

    /// Trains on centred activations `x` (each dataset centred on its own mean, as
    /// `ProbeDataset.centred()` and `GeneralizationMatrix` give them) with labels `y`.
    public static func train(_ method: ProbeMethod, x: Matrix, y: [Bool]) throws -> LinearProbe {
        guard x.rows == y.count, y.contains(true), y.contains(false) else {
            throw SaescopeError("a probe needs both true and false examples")
        }
        let trueRows = y.indices.filter { y[$0] }, falseRows = y.indices.filter { !y[$0] }
        let meanTrue = x.selecting(rows: trueRows).columnMeans()
        let meanFalse = x.selecting(rows: falseRows).columnMeans()
        let difference = zip(meanTrue, meanFalse).map { $0 - $1 }
        switch method {
        case .differenceInMeans:
            return LinearProbe(method: method, direction: difference, bias: 0)
        case .differenceInMeansIID:
            let direction = try pooledCovariancePseudoInverse(x: x, trueRows: trueRows, falseRows: falseRows,
                                                              meanTrue: meanTrue, meanFalse: meanFalse, applyTo: difference)
            return LinearProbe(method: method, direction: direction, bias: 0)
        case .lda:
            let direction = try pooledCovariancePseudoInverse(x: x, trueRows: trueRows, falseRows: falseRows,
                                                              meanTrue: meanTrue, meanFalse: meanFalse, applyTo: difference)
            let midpoint = zip(meanTrue, meanFalse).map { ($0 + $1) / 2 }
            let prior = log(Double(trueRows.count) / Double(falseRows.count))
            return LinearProbe(method: method, direction: direction, bias: -dot(direction, midpoint) + prior)
        case .logisticRegression:
            return LinearProbe(method: method, direction: adamWLogisticRegression(x: x, y: y), bias: 0)
        case .logisticRegressionL2:
            let fit = try L2LogisticRegression.fit(x: x, y: y)
            return LinearProbe(method: method, direction: fit.weights, bias: fit.intercept)
        }
    }

    /// pinv(Sigma) v with Sigma = Z^T Z / n, Z the class-centred data; through a thin SVD of Z,
    /// so no D x D matrix is formed. Eigenvalues of Sigma at or below 1e-3 are dropped.
    static func pooledCovariancePseudoInverse(x: Matrix, trueRows: [Int], falseRows: [Int],
                                              meanTrue: [Double], meanFalse: [Double], applyTo v: [Double]) throws -> [Double] {
        var z = x
        for r in trueRows { for c in 0..<x.columns { z[r, c] -= meanTrue[c] } }
        for r in falseRows { for c in 0..<x.columns { z[r, c] -= meanFalse[c] } }
        let (_, s, vt) = try z.thinSVD()
        let n = Double(x.rows)
        var result = [Double](repeating: 0, count: x.columns)
        for (k, singular) in s.enumerated() {
            let eigenvalue = singular * singular / n
            guard eigenvalue > 1e-3 else { continue }
            let axis = vt.row(k)
            let coefficient = dot(axis, v) / eigenvalue
            for (c, a) in axis.enumerated() { result[c] += coefficient * a }
        }
        return result
    }

    static func adamWLogisticRegression(x: Matrix, y: [Bool], epochs: Int = 1000, learningRate: Double = 1e-3,
                                        weightDecay: Double = 0.1) -> [Double] {
        let n = Double(x.rows), d = x.columns
        var w = [Double](repeating: 0, count: d)
        var m = [Double](repeating: 0, count: d), v = [Double](repeating: 0, count: d)
        let beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8
        let targets = y.map { $0 ? 1.0 : 0.0 }
        for step in 1...epochs {
            let logits = x.times(w)
            let residual = zip(logits, targets).map { 1 / (1 + exp(-$0)) - $1 }
            let gradient = x.transposeTimes(residual).map { $0 / n }
            let correction1 = 1 - pow(beta1, Double(step)), correction2 = 1 - pow(beta2, Double(step))
            for i in 0..<d {
                w[i] -= learningRate * weightDecay * w[i]  // decoupled weight decay, as torch's AdamW
                m[i] = beta1 * m[i] + (1 - beta1) * gradient[i]
                v[i] = beta2 * v[i] + (1 - beta2) * gradient[i] * gradient[i]
                w[i] -= learningRate * (m[i] / correction1) / ((v[i] / correction2).squareRoot() + epsilon)
            }
        }
        return w
    }
}

/// Accuracy and AUROC of scores against labels (score > 0 means true).
public enum ProbeScoring {
    public static func accuracy(scores: [Double], labels: [Bool]) -> Double {
        guard !labels.isEmpty else { return .nan }
        return Double(zip(scores, labels).filter { ($0 > 0) == $1 }.count) / Double(labels.count)
    }

    /// Area under the ROC curve: the probability a random true example outscores a random false one (ties count half).
    public static func auroc(scores: [Double], labels: [Bool]) -> Double {
        let positives = labels.filter { $0 }.count, negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return .nan }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let averageRank = Double(i + j) / 2 + 1
            for k in i...j where labels[order[k]] { rankSum += averageRank }
            i = j + 1
        }
        return (rankSum - Double(positives * (positives + 1)) / 2) / Double(positives * negatives)
    }
}
