import ArgumentParser
import Foundation
import SAECore

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Train linear probes on labelled statement datasets and print the train x test generalization matrix.",
        discussion: """
        Each --data names a statements CSV (or its activations file; the other is the file with the same stem).
        Every dataset is centred on its own mean. As in the Geometry of Truth code, a probe tested on a
        dataset outside its training set is trained on all rows of the training set; a test set inside
        the training set is scored on its held-out 20% by a probe trained on the seeded 80% of every
        component; the oracle row trains on each test set's own 80%. Directions (--json) and the
        feature alignment (--sae) are those of the probe trained on all rows.
        Methods: dim (difference in means), dim-iid (with the pooled within-class covariance),
        lda (the iid direction with a bias), lr (no bias, AdamW as in Geometry of Truth),
        lr-l2 (L2-regularised, with a bias: scikit-learn's default LogisticRegression(C=1), solved to its optimum).
        With --sae: for each probe trained on a training set (every method), the --align features of the
        dictionary whose decoder rows W_dec[f] have the highest and the lowest cosine with the probe
        direction (--align-encoder: also ranked by the encoder columns W_enc[:, f]), with the chance level:
        the expected best cosine of F random directions in D dimensions. With --index (an index of the
        dictionary), dead features (density 0 in it) are left out, and F counts the features ranked. --json then adds "alignment_chance" and,
        per method, "alignment": one entry per training set with "decoder" (and "encoder") lists of
        {"feature", "cosine"} under "positive" and "negative"; every --json output has the probes'
        "directions" and "biases", one per training set.
        With --sae and --sparse 1,5,20: sparse probing on the dictionary's latents, as SAEBench does it, except
        that ours uses the probe sets' last-token activations (SAEBench mean-pools over tokens). Each dataset is
        encoded with the dictionary's full activation rule; for each training set the k latents with the largest
        |mean over positives - mean over negatives| on that cell's training rows (all rows off the diagonal, the
        seeded 80% on the diagonal and in the oracle row; latents centred on each dataset's mean; ties to the
        lower latent id) are kept, and lr-l2 is fitted on those k columns. One matrix per k is printed after
        the full-width lr-l2 (always computed with --sparse). --json then adds "sparse_probing": per k the
        matrix and "latents" (chosen on all rows, per training set), "latents_split" (on the 80%) and
        "oracle_latents".
        """)

    @Option(name: .customLong("data"), help: "A dataset (repeat for several).") var data: [String]
    @Option(help: "Training sets, comma separated; a+b trains on the union (default: each dataset alone).") var train: String?
    @Option(help: "dim, dim-iid, lda, lr, lr-l2 or all.") var method = "all"
    @Option(help: "Label column, or a^b for the XOR of two boolean columns.") var label = "label"
    @Option(help: "Seed of the 80/20 splits.") var seed: UInt64 = 0
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "A dictionary (as for eval --sae): list the features each probe direction aligns with.") var sae: String?
    @Option(help: "With --sae: features to list per sign (default 10).") var align: Int?
    @Flag(name: .customLong("align-encoder"), help: "With --sae: also rank features by their encoder columns.") var alignEncoder = false
    @Option(help: "With --sae: an index of the dictionary (saescope index); its dead features (density 0) are left out of the alignment.") var index: String?
    @Option(help: "With --sae: sparse probing on the dictionary's latents, lr-l2 on the top k latents per training set, for each k (comma separated, e.g. 1,5,20).") var sparse: String?

    /// The parsed --sparse list.
    private var sparseKs: [Int] { sparse.map { $0.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } } ?? [] }

    func validate() throws {
        guard !data.isEmpty else { throw ValidationError("give at least one --data") }
        if sae == nil, align != nil || alignEncoder || index != nil { throw ValidationError("--align, --align-encoder and --index need --sae") }
        if let align, align < 1 { throw ValidationError("--align must be at least 1") }
        if let sparse {
            guard sae != nil else { throw ValidationError("--sparse needs --sae") }
            let parts = sparse.split(separator: ",", omittingEmptySubsequences: false)
            guard !parts.isEmpty, parts.allSatisfy({ Int($0.trimmingCharacters(in: .whitespaces)).map { $0 >= 1 } ?? false }) else {
                throw ValidationError("--sparse must be a comma-separated list of latent counts of at least 1, got '\(sparse)'")
            }
        }
        guard method == "all" || ProbeMethod(rawValue: method) != nil else {
            throw ValidationError("--method must be one of \(ProbeMethod.allCases.map(\.rawValue).joined(separator: ", ")), all")
        }
    }

    func run() throws {
        let datasets = try data.map { try ProbeDataset(path: $0) }
        let trainSpecs = train.map { $0.split(separator: ",").map(String.init) } ?? datasets.map(\.name)
        var methods = method == "all" ? ProbeMethod.allCases : [ProbeMethod(rawValue: method)!]
        // Sparse probes are shown beside the full-width lr-l2 on the raw activations.
        if !sparseKs.isEmpty, !methods.contains(.logisticRegressionL2) { methods.append(.logisticRegressionL2) }
        var aligner: FeatureAlignment?
        var sparseMatrices: [SparseProbeMatrix] = []
        var dead: Set<Int> = []
        if let sae {
            let dictionary = try DictionaryLoader.load(path: sae)
            if let first = datasets.first, first.dimension != dictionary.inputDimension {
                throw SaescopeError("the dictionary has D=\(dictionary.inputDimension) but the probe dataset \(first.name) has D=\(first.dimension)", file: sae)
            }
            aligner = FeatureAlignment(sae: dictionary)
            if let index {
                let featureIndex = try IndexFile.read(path: index)
                guard featureIndex.featureCount == dictionary.featureCount else {
                    throw SaescopeError("the index has \(featureIndex.featureCount) features but the dictionary \(dictionary.featureCount)", file: index)
                }
                dead = Set((0..<featureIndex.featureCount).filter { featureIndex.isDead($0) })
            }
            if let tooMany = sparseKs.first(where: { $0 > dictionary.featureCount }) {
                throw SaescopeError("--sparse \(tooMany) exceeds the dictionary's \(dictionary.featureCount) features", file: sae)
            }
            if !sparseKs.isEmpty {
                if let other = datasets.first(where: { $0.dimension != dictionary.inputDimension }) {
                    throw SaescopeError("the dictionary has D=\(dictionary.inputDimension) but the probe dataset \(other.name) has D=\(other.dimension)", file: other.activationsPath)
                }
                let codes = datasets.map { LatentCodes(encoding: $0.activations, with: dictionary) }
                sparseMatrices = try sparseKs.map {
                    try SparseProbeMatrix.compute(datasets: datasets, codes: codes, trainSpecs: trainSpecs, k: $0, label: label, seed: seed)
                }
            }
        }
        let count = align ?? 10
        let sides: [FeatureAlignment.Side] = alignEncoder ? [.decoder, .encoder] : [.decoder]
        let matrices = try methods.map {
            try GeneralizationMatrix.compute(datasets: datasets, trainSpecs: trainSpecs, method: $0, label: label, seed: seed)
        }
        // alignments[m][row] = one result per side, for the probe of method m trained on training set `row`.
        let alignments: [[[FeatureAlignmentResult]]] = try matrices.map { matrix in
            try matrix.probes.map { probe in
                guard let aligner else { return [] }
                return try sides.map { try aligner.top(count, for: probe.direction, side: $0, excluding: dead) }
            }
        }
        if json {
            func features(_ list: [AlignedFeature]) -> [[String: Any]] { list.map { ["feature": $0.feature, "cosine": $0.cosine] } }
            var object: [String: Any] = [
                "label": label,
                "methods": Dictionary(uniqueKeysWithValues: zip(matrices, alignments).map { matrix, aligned in
                    var entry: [String: Any] = [
                        "train_sets": matrix.trainSets, "test_sets": matrix.testSets,
                        "accuracy": matrix.accuracy.map { $0.map(jsonSafe) }, "auroc": matrix.auroc.map { $0.map(jsonSafe) },
                        "oracle_accuracy": matrix.oracleAccuracy.map(jsonSafe), "oracle_auroc": matrix.oracleAUROC.map(jsonSafe),
                        "directions": matrix.probes.map { $0.direction.map(jsonSafe) }, "biases": matrix.probes.map { jsonSafe($0.bias) },
                    ]
                    if let aligner {
                        let sae = aligner.sae
                        entry["alignment_chance"] = ChanceLevel.expectedMaxCosine(dimension: sae.inputDimension, count: sae.featureCount - dead.count)
                        entry["alignment_dead_left_out"] = dead.count
                        entry["alignment"] = aligned.map { results in
                            Dictionary(uniqueKeysWithValues: results.map {
                                ($0.side.rawValue, ["positive": features($0.mostPositive), "negative": features($0.mostNegative)])
                            })
                        }
                    }
                    return (matrix.method.rawValue, entry)
                }),
            ]
            if !sparseMatrices.isEmpty {
                object["sparse_probing"] = [
                    "method": ProbeMethod.logisticRegressionL2.rawValue,
                    "activations": "last token",
                    "by_k": sparseMatrices.map { matrix -> [String: Any] in
                        ["k": matrix.k, "train_sets": matrix.trainSets, "test_sets": matrix.testSets,
                         "accuracy": matrix.accuracy.map { $0.map(jsonSafe) }, "auroc": matrix.auroc.map { $0.map(jsonSafe) },
                         "oracle_accuracy": matrix.oracleAccuracy.map(jsonSafe), "oracle_auroc": matrix.oracleAUROC.map(jsonSafe),
                         "latents": matrix.latents, "latents_split": matrix.splitLatents, "oracle_latents": matrix.oracleLatents]
                    },
                ] as [String: Any]
            }
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        for matrix in matrices {
            print("\(matrix.method.rawValue): accuracy (AUROC), label \(label); rows = trained on, columns = tested on")
            printMatrix(trainSets: matrix.trainSets, testSets: matrix.testSets, accuracy: matrix.accuracy, auroc: matrix.auroc,
                        oracleAccuracy: matrix.oracleAccuracy, oracleAUROC: matrix.oracleAUROC)
            print("")
        }
        for matrix in sparseMatrices {
            print("sae top-\(matrix.k) (lr-l2 on the \(matrix.k) latents with the largest class-mean gap, last-token activations): accuracy (AUROC), label \(label)")
            printMatrix(trainSets: matrix.trainSets, testSets: matrix.testSets, accuracy: matrix.accuracy, auroc: matrix.auroc,
                        oracleAccuracy: matrix.oracleAccuracy, oracleAUROC: matrix.oracleAUROC)
            for (name, latents) in zip(matrix.trainSets, matrix.latents) {
                print("  latents of \(name) (all rows): \(latents.map(String.init).joined(separator: " "))")
            }
            print("")
        }
        if let aligner {
            let chance = ChanceLevel.caption(dimension: aligner.sae.inputDimension, count: aligner.sae.featureCount - dead.count)
            if index != nil { print("\(dead.count) dead features (density 0 in the index) left out of the alignment\n") }
            for (matrix, aligned) in zip(matrices, alignments) {
                for (name, results) in zip(matrix.trainSets, aligned) {
                    for result in results { printAlignment(result, method: matrix.method, trainSet: name, chance: chance) }
                }
            }
        }
    }

    private func printMatrix(trainSets: [String], testSets: [String], accuracy: [[Double]], auroc: [[Double]],
                             oracleAccuracy: [Double], oracleAUROC: [Double]) {
        // "0.000 (0.000)" is 13 characters: cells are at least 15 wide so columns never run together.
        let width = max(15, (trainSets + testSets + ["oracle"]).map(\.count).max()! + 2)
        func pad(_ text: String) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
        print(pad("") + testSets.map(pad).joined())
        for (row, name) in trainSets.enumerated() {
            print(pad(name) + zip(accuracy[row], auroc[row]).map { pad(String(format: "%.3f (%.3f)", $0, $1)) }.joined())
        }
        print(pad("oracle") + zip(oracleAccuracy, oracleAUROC).map { pad(String(format: "%.3f (%.3f)", $0, $1)) }.joined())
    }

    private func printAlignment(_ result: FeatureAlignmentResult, method: ProbeMethod, trainSet: String, chance: String) {
        let vectors = result.side == .decoder ? "decoder rows" : "encoder columns"
        print("\(method.rawValue) trained on \(trainSet): features by cosine of their \(vectors) with the probe direction")
        print("rank   most positive         most negative        (\(chance): the best cosine of random directions)")
        for rank in 0..<max(result.mostPositive.count, result.mostNegative.count) {
            func cell(_ list: [AlignedFeature]) -> String {
                guard rank < list.count else { return "".padding(toLength: 22, withPad: " ", startingAt: 0) }
                return String(format: "%-8d %+.4f", list[rank].feature, list[rank].cosine).padding(toLength: 22, withPad: " ", startingAt: 0)
            }
            print(String(format: "%4d   ", rank + 1) + cell(result.mostPositive) + cell(result.mostNegative))
        }
        print("")
    }
}

struct PCACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pca",
        abstract: "Principal components of labelled activations: explained-variance ratios and coordinates.")

    @Option(help: "The dataset to project (statements CSV or its activations file).") var data: String
    @Option(help: "Dataset(s) whose union gives the basis, comma separated (default: --data).") var basis: String?
    @Option(help: "Components to print.") var components = 5
    @Option(help: "Skip this many top components.") var offset = 0
    @Option(help: "Label column for the coordinates' labels.") var label = "label"
    @Flag(help: "Print JSON with every coordinate.") var json = false

    func validate() throws {
        guard components >= 1 else { throw ValidationError("--components must be at least 1") }
        guard offset >= 0 else { throw ValidationError("--offset must be 0 or more") }
        guard !offset.addingReportingOverflow(components).overflow else {
            throw ValidationError("--offset plus --components is too large")
        }
    }

    func run() throws {
        let dataset = try ProbeDataset(path: data)
        let basisSets = try basis.map { try $0.split(separator: ",").map { try ProbeDataset(path: String($0)) } } ?? [dataset]
        let pca = try PCABasis(fitting: basisSets, maxComponents: offset + components)
        let count = min(components, pca.components.rows - offset)
        guard count > 0 else { throw ValidationError("--offset leaves no components (the basis has \(pca.components.rows))") }
        let coordinates = try pca.project(dataset, offset: offset, count: count)
        let labels = (try? dataset.labels(label)) ?? []
        let ratios = Array(pca.explainedVarianceRatio[offset..<offset + count])
        if json {
            let object: [String: Any] = [
                "explained_variance_ratio": ratios, "offset": offset,
                "coordinates": (0..<coordinates.rows).map { Array(coordinates.row($0)) },
                "labels": labels.map { $0 ? 1 : 0 }, "basis": basisSets.map(\.name), "data": dataset.name,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        print("basis \(basisSets.map(\.name).joined(separator: "+")), data \(dataset.name) (\(dataset.count) statements, D=\(dataset.dimension))")
        for (i, ratio) in ratios.enumerated() { print(String(format: "PC%-3d %6.2f%% of variance", offset + i + 1, ratio * 100)) }
        print("")
        print("first rows (label, coordinates):")
        for r in 0..<min(10, coordinates.rows) {
            let tag = labels.isEmpty ? "-" : (labels[r] ? "1" : "0")
            print(tag + "  " + coordinates.row(r).map { String(format: "%9.4f", $0) }.joined(separator: " "))
        }
    }
}

/// JSON has no NaN: an undefined figure (e.g. AUROC of one class) becomes null.
func jsonSafe(_ value: Double) -> Any { value.isFinite ? value : NSNull() }
