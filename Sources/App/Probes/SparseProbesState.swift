import SAECore

/// What a sparse-probing matrix is computed for: k latents, one label.
public struct SparseMatrixKey: Hashable, Sendable {
    public var k: Int
    public var label: String
}

/// The figures the matrix pane draws, from a linear method's matrix or a sparse one's.
public struct ProbeMatrixFigures: Sendable {
    public var trainSets: [String]
    public var testSets: [String]
    public var accuracy: [[Double]]
    public var auroc: [[Double]]
    public var oracleAccuracy: [Double]
    public var oracleAUROC: [Double]
}

/// The probes screen's sparse probing (SAEBench's, as `probe --sae --sparse` computes it): a
/// method per k after the linear ones, its matrix, and the latents the selected cell's probe uses.
extension ProbesState {
    /// The k of the "sae top-k" methods (SAEBench's), those at most F.
    public static let sparseKs = [1, 2, 5, 10, 20]

    /// The method's name as the screen shows it: `dim`, ..., `lr-l2`, `sae top-5`.
    public var methodName: String { sparseK.map { "sae top-\($0)" } ?? method.rawValue }

    public var sparseKey: SparseMatrixKey? { sparseK.map { SparseMatrixKey(k: $0, label: label) } }

    public var sparseMatrix: SparseProbeMatrix? { sparseKey.flatMap { sparseMatrices[$0] } }

    /// The matrix of the method shown, whichever kind it is.
    public var matrixFigures: ProbeMatrixFigures? {
        if sparseK != nil {
            return sparseMatrix.map { ProbeMatrixFigures(trainSets: $0.trainSets, testSets: $0.testSets, accuracy: $0.accuracy, auroc: $0.auroc,
                                                         oracleAccuracy: $0.oracleAccuracy, oracleAUROC: $0.oracleAUROC) }
        }
        return matrix.map { ProbeMatrixFigures(trainSets: $0.trainSets, testSets: $0.testSets, accuracy: $0.accuracy, auroc: $0.auroc,
                                               oracleAccuracy: $0.oracleAccuracy, oracleAUROC: $0.oracleAUROC) }
    }

    /// The latents of the selected cell's probe, in the order chosen (largest class-mean gap
    /// first): chosen on the seeded 80% when the test set is part of the training set (the cell
    /// scores the held-out 20%), else on all of the training set's rows.
    public var chosenLatents: [Int] {
        guard let m = sparseMatrix, !m.trainSets.isEmpty, !m.testSets.isEmpty else { return [] }
        let row = min(self.row, m.trainSets.count - 1)
        return chosenOnSplit ? m.splitLatents[row] : m.latents[row]
    }

    /// Whether the selected cell's latents were chosen on the 80% split (its test set is trained on).
    public var chosenOnSplit: Bool {
        guard let m = sparseMatrix, !m.trainSets.isEmpty, !m.testSets.isEmpty else { return false }
        let row = min(self.row, m.trainSets.count - 1), column = min(self.column, m.testSets.count - 1)
        return m.trainSets[row].split(separator: "+").contains { String($0) == m.testSets[column] }
    }

    /// The features pane's rows: the chosen latents in sparse mode, else the aligned features.
    public var featureRowCount: Int { sparseK != nil ? chosenLatents.count : alignedFeatures.count }
}
