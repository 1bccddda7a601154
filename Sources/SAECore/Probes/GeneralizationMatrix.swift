/// Train a probe on each training set (a dataset or a union `a+b`), test it on every dataset:
/// rows = training sets, columns = test sets, as the Geometry of Truth code does it. A test set
/// outside the training set is scored on all its rows by a probe trained on all rows of the
/// training set; a test set inside it needs held-out rows, so that cell's probe trains on the
/// seeded 80% of every component and scores the test set's other 20%. The oracle row trains on
/// each test set's own 80% and scores its 20%. Every dataset is centred on its own mean.
public struct GeneralizationMatrix: Sendable {
    public let method: ProbeMethod
    public let label: String
    public let trainSets: [String]
    public let testSets: [String]
    public let accuracy: [[Double]]
    public let auroc: [[Double]]
    public let oracleAccuracy: [Double]
    public let oracleAUROC: [Double]
    /// The probe trained on all rows of each training set (row): the off-diagonal cells' probe,
    /// whose direction `probe --json` prints and the feature alignment ranks against.
    public let probes: [LinearProbe]

    /// `progress(done, total)` is called after each probe is trained (two per training set, on all
    /// rows and on the 80% split, then one per oracle cell); throwing from it stops the computation (a cancelled background job).
    public static func compute(datasets: [ProbeDataset], trainSpecs: [String], method: ProbeMethod,
                               label: String = "label", seed: UInt64 = 0,
                               progress: ((_ done: Int, _ total: Int) throws -> Void)? = nil) throws -> GeneralizationMatrix {
        let byName = Dictionary(datasets.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        if let first = datasets.first, let other = datasets.first(where: { $0.dimension != first.dimension }) {
            throw SaescopeError("activation dimension \(other.dimension) differs from \(first.name)'s \(first.dimension)", file: other.activationsPath)
        }
        let centred = Dictionary(datasets.map { ($0.name, $0.centred()) }, uniquingKeysWith: { first, _ in first })
        let labels = try Dictionary(datasets.map { ($0.name, try $0.labels(label)) }, uniquingKeysWith: { first, _ in first })
        let splits = Dictionary(datasets.map { ($0.name, ProbeSplit.split(count: $0.count, seed: seed)) }, uniquingKeysWith: { first, _ in first })

        var trainedCount = 0
        /// `allRows`: every row of every component (the probe tested elsewhere); otherwise each
        /// component's seeded 80% (the probe tested on a held-out 20%).
        func probe(trainedOn names: [String], allRows: Bool) throws -> LinearProbe {
            var x = Matrix(zeros: 0, datasets[0].dimension)
            var y: [Bool] = []
            for name in names {
                let rows = allRows ? Array(0..<byName[name]!.count) : splits[name]!.train
                x = x.stacked(on: centred[name]!.selecting(rows: rows))
                y += rows.map { labels[name]![$0] }
            }
            let trained = try LinearProbe.train(method, x: x, y: y)
            trainedCount += 1
            try progress?(trainedCount, 2 * trainSpecs.count + datasets.count)
            return trained
        }

        func score(_ probe: LinearProbe, on name: String, heldOut: Bool) -> (Double, Double) {
            let rows = heldOut ? splits[name]!.test : Array(0..<byName[name]!.count)
            let scores = probe.scores(centred[name]!.selecting(rows: rows))
            let truth = rows.map { labels[name]![$0] }
            return (ProbeScoring.accuracy(scores: scores, labels: truth), ProbeScoring.auroc(scores: scores, labels: truth))
        }

        let testSets = datasets.map(\.name)
        var accuracy: [[Double]] = [], auroc: [[Double]] = []
        var probes: [LinearProbe] = []
        for spec in trainSpecs {
            let components = spec.split(separator: "+").map(String.init)
            for component in components where byName[component] == nil {
                throw SaescopeError("training set '\(component)' is not among the datasets (\(testSets.joined(separator: ", ")))")
            }
            let onAllRows = try probe(trainedOn: components, allRows: true)
            let onSplit = try probe(trainedOn: components, allRows: false)
            probes.append(onAllRows)
            let row = testSets.map { name in
                components.contains(name) ? score(onSplit, on: name, heldOut: true) : score(onAllRows, on: name, heldOut: false)
            }
            accuracy.append(row.map(\.0))
            auroc.append(row.map(\.1))
        }
        var oracleAccuracy: [Double] = [], oracleAUROC: [Double] = []
        for name in testSets {
            let (a, r) = score(try probe(trainedOn: [name], allRows: false), on: name, heldOut: true)
            oracleAccuracy.append(a)
            oracleAUROC.append(r)
        }
        return GeneralizationMatrix(method: method, label: label, trainSets: trainSpecs, testSets: testSets,
                                    accuracy: accuracy, auroc: auroc, oracleAccuracy: oracleAccuracy, oracleAUROC: oracleAUROC,
                                    probes: probes)
    }
}

/// Seeded 80/20 splits of a dataset's rows (a Fisher-Yates shuffle with SplitMix64).
public enum ProbeSplit {
    public static func split(count: Int, seed: UInt64) -> (train: [Int], test: [Int]) {
        var order = Array(0..<count)
        var rng = SplitMix64(seed: seed)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) {
                order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
            }
        }
        let trainCount = Int((Double(count) * 0.8).rounded())
        return (Array(order[..<trainCount]).sorted(), Array(order[trainCount...]).sorted())
    }
}
