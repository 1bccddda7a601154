import Foundation

/// One probe dataset's activations encoded by a dictionary (its full activation rule, through
/// `SAEEncoder`), kept as the encoder lists them: the nonzero codes of each row. A dense
/// `[statements, F]` copy would not fit for wide dictionaries; the probes only ever need k columns.
public struct LatentCodes: Sendable {
    public let featureCount: Int
    /// Row r's nonzero codes are `features/values[rowStart[r] ..< rowStart[r + 1]]`.
    public let rowStart: [Int]
    public let features: [Int32]
    public let values: [Float]
    /// Each latent's mean over every row of the dataset (the dataset's own centre).
    public let means: [Double]

    public var count: Int { rowStart.count - 1 }

    public init(encoding activations: Matrix, with sae: SparseAutoencoder) {
        let d = sae.inputDimension, f = sae.featureCount
        let chunk = max(1, min(activations.rows, SAEEncoder.suggestedChunkRows(featureCount: f)))
        let encoder = SAEEncoder(sae: sae, maxRows: chunk)
        var rowStart = [0], features: [Int32] = [], values: [Float] = []
        var first = 0
        while first < activations.rows {
            let rows = min(chunk, activations.rows - first)
            let input = activations.values[first * d..<(first + rows) * d].map(Float.init)
            input.withUnsafeBufferPointer { encoder.run($0.baseAddress!, rows: rows, reconstruct: false) }
            let base = features.count
            rowStart += encoder.activeRowStart.dropFirst().map { $0 + base }
            features += encoder.activeFeature
            values += encoder.activeValue
            first += rows
        }
        var sums = [Double](repeating: 0, count: f)
        for (feature, value) in zip(features, values) { sums[Int(feature)] += Double(value) }
        featureCount = f
        self.rowStart = rowStart
        self.features = features
        self.values = values
        means = sums.map { $0 / Double(max(activations.rows, 1)) }
    }

    /// Columns `latents` of rows `rows`, each centred on this dataset's mean: `[rows, k]`.
    public func centredColumns(_ latents: [Int], rows: [Int]) -> Matrix {
        let position = Dictionary(latents.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var result = Matrix(zeros: rows.count, latents.count)
        for (target, row) in rows.enumerated() {
            for (column, latent) in latents.enumerated() { result[target, column] = -means[latent] }
            for i in rowStart[row]..<rowStart[row + 1] {
                if let column = position[Int(features[i])] { result[target, column] += Double(values[i]) }
            }
        }
        return result
    }
}

/// SAEBench's sparse probing on the probe sets: for each training set, the k latents whose mean
/// over positive training rows differs most (in absolute value) from their mean over negative
/// ones, then scikit-learn's default L2 logistic regression (`lr-l2`) on those k columns, laid out
/// as `GeneralizationMatrix` lays out every probe: a test set outside the training set is scored
/// on all its rows by a probe whose latents and weights come from all rows of the training set; a
/// test set inside it, and the oracle row, use the seeded 80% for both and score the other 20%.
/// Latents are centred on each dataset's own mean, as every probe input is (the choice is made on
/// the centred values the probe sees; for a single dataset that is the same as on raw codes).
/// Ties in the choice go to the lower latent id.
public struct SparseProbeMatrix: Sendable {
    public let k: Int
    public let trainSets: [String]
    public let testSets: [String]
    public let accuracy: [[Double]]
    public let auroc: [[Double]]
    public let oracleAccuracy: [Double]
    public let oracleAUROC: [Double]
    /// Per training set: the latents chosen on all its rows (the off-diagonal cells' probe).
    public let latents: [[Int]]
    /// Per training set: the latents chosen on the seeded 80% of its components (the diagonal cells).
    public let splitLatents: [[Int]]
    /// Per test set: the oracle's latents, chosen on that set's own 80%.
    public let oracleLatents: [[Int]]

    public static func compute(datasets: [ProbeDataset], codes: [LatentCodes], trainSpecs: [String], k: Int,
                               label: String = "label", seed: UInt64 = 0) throws -> SparseProbeMatrix {
        precondition(datasets.count == codes.count)
        guard let featureCount = codes.first?.featureCount, k >= 1, k <= featureCount else {
            throw SaescopeError("sparse probing needs 1 <= k <= F (F = \(codes.first?.featureCount ?? 0)), got \(k)")
        }
        let testSets = datasets.map(\.name)
        let index = Dictionary(testSets.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let labels = try datasets.map { try $0.labels(label) }
        let splits = datasets.map { ProbeSplit.split(count: $0.count, seed: seed) }

        /// The training rows of component `d`: all of them, or its seeded 80%.
        func trainingRows(_ d: Int, allRows: Bool) -> [Int] { allRows ? Array(0..<datasets[d].count) : splits[d].train }

        func fit(_ components: [Int], allRows: Bool) throws -> (latents: [Int], probe: LinearProbe) {
            let latents = topLatents(components.map { (codes[$0], trainingRows($0, allRows: allRows), labels[$0]) }, k: k)
            var x = Matrix(zeros: 0, latents.count)
            var y: [Bool] = []
            for d in components {
                let rows = trainingRows(d, allRows: allRows)
                x = x.stacked(on: codes[d].centredColumns(latents, rows: rows))
                y += rows.map { labels[d][$0] }
            }
            return (latents, try LinearProbe.train(.logisticRegressionL2, x: x, y: y))
        }

        func score(_ fitted: (latents: [Int], probe: LinearProbe), on d: Int, heldOut: Bool) -> (Double, Double) {
            let rows = heldOut ? splits[d].test : Array(0..<datasets[d].count)
            let scores = fitted.probe.scores(codes[d].centredColumns(fitted.latents, rows: rows))
            let truth = rows.map { labels[d][$0] }
            return (ProbeScoring.accuracy(scores: scores, labels: truth), ProbeScoring.auroc(scores: scores, labels: truth))
        }

        var accuracy: [[Double]] = [], auroc: [[Double]] = [], latents: [[Int]] = [], splitLatents: [[Int]] = []
        for spec in trainSpecs {
            let names = spec.split(separator: "+").map(String.init)
            let components = try names.map { name -> Int in
                guard let d = index[name] else {
                    throw SaescopeError("training set '\(name)' is not among the datasets (\(testSets.joined(separator: ", ")))")
                }
                return d
            }
            let onAllRows = try fit(components, allRows: true)
            let onSplit = try fit(components, allRows: false)
            latents.append(onAllRows.latents)
            splitLatents.append(onSplit.latents)
            let row = testSets.indices.map { d in
                components.contains(d) ? score(onSplit, on: d, heldOut: true) : score(onAllRows, on: d, heldOut: false)
            }
            accuracy.append(row.map(\.0))
            auroc.append(row.map(\.1))
        }
        var oracleAccuracy: [Double] = [], oracleAUROC: [Double] = [], oracleLatents: [[Int]] = []
        for d in testSets.indices {
            let oracle = try fit([d], allRows: false)
            let (a, r) = score(oracle, on: d, heldOut: true)
            oracleAccuracy.append(a)
            oracleAUROC.append(r)
            oracleLatents.append(oracle.latents)
        }
        return SparseProbeMatrix(k: k, trainSets: trainSpecs, testSets: testSets, accuracy: accuracy, auroc: auroc,
                                 oracleAccuracy: oracleAccuracy, oracleAUROC: oracleAUROC,
                                 latents: latents, splitLatents: splitLatents, oracleLatents: oracleLatents)
    }

    /// The k latents with the largest |mean over positive rows - mean over negative rows| over
    /// the given rows of every component (each centred on its own dataset's mean), in that order;
    /// ties to the lower id. O(nonzeros + components x F).
    static func topLatents(_ parts: [(codes: LatentCodes, rows: [Int], labels: [Bool])], k: Int) -> [Int] {
        guard let f = parts.first?.codes.featureCount else { return [] }
        var positiveSum = [Double](repeating: 0, count: f), negativeSum = [Double](repeating: 0, count: f)
        var positives = 0, negatives = 0
        for part in parts {
            var partPositives = 0, partNegatives = 0
            for row in part.rows {
                let positive = part.labels[row]
                if positive { partPositives += 1 } else { partNegatives += 1 }
                for i in part.codes.rowStart[row]..<part.codes.rowStart[row + 1] {
                    let value = Double(part.codes.values[i])
                    if positive { positiveSum[Int(part.codes.features[i])] += value } else { negativeSum[Int(part.codes.features[i])] += value }
                }
            }
            // Centring: every row of this component loses the component's mean.
            for latent in 0..<f {
                positiveSum[latent] -= Double(partPositives) * part.codes.means[latent]
                negativeSum[latent] -= Double(partNegatives) * part.codes.means[latent]
            }
            positives += partPositives
            negatives += partNegatives
        }
        let gap = (0..<f).map { abs(positiveSum[$0] / Double(max(positives, 1)) - negativeSum[$0] / Double(max(negatives, 1))) }
        return Array((0..<f).sorted { gap[$0] != gap[$1] ? gap[$0] > gap[$1] : $0 < $1 }.prefix(k))
    }
}
