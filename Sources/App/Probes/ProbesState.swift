import SAECore
import TUI
import Widgets

/// The probes screen's panes; Tab moves between them. A wide terminal shows all three at once;
/// a narrow one shows the PCA pane alone, or the matrix above its aligned features.
public enum ProbesPane: String, CaseIterable, Sendable {
    case pca, matrix, features
}

/// The heatmap's figure: accuracy, or AUROC (threshold-free, so a probe whose bias is off for a
/// test set still shows whether it ranks the set's statements right).
public enum ProbeMetric: String, Sendable {
    case accuracy, auroc
}

/// What a generalization matrix is computed for.
public struct ProbeMatrixKey: Hashable, Sendable {
    public var method: ProbeMethod
    public var label: String
}

/// What an alignment is computed for: the probe of one training set (a matrix row).
public struct ProbeAlignmentKey: Hashable, Sendable {
    public var matrix: ProbeMatrixKey
    public var row: Int
    /// Whether dead features are ranked too (key D).
    public var includeDead = false
}

/// A PCA basis and every dataset's coordinates on its components, so changing the components,
/// the dataset plotted or the label needs no new computation.
public struct PCAProjection: Sendable {
    /// Dataset names whose union the basis was fitted on.
    public var basis: [String]
    public var ratios: [Double]
    /// Per dataset (in load order), `[statements, components]`.
    public var coordinates: [Matrix]
}

/// A background computation of the probes screen: what it computes and its job.
public struct ProbeJob<Key: Hashable & Sendable>: Sendable {
    public var key: Key
    public var id: JobCenter.ID
}

/// Everything the probes screen shows and remembers: the datasets, the choices made with keys,
/// and the results computed so far (kept per choice, so cycling back is instant).
public struct ProbesState {
    /// Paths given with --probes (files or folders), read by the load job.
    public var paths: [String] = []
    /// The datasets, once read (in the order given; a folder's CSVs by name).
    public var datasets: [ProbeDataset]?
    public var loadJob: JobCenter.ID?

    public var pane: ProbesPane = .pca

    // PCA choices.
    /// A dataset index, or `datasets.count` for the union of all.
    public var basis = 0
    /// A dataset index, or `datasets.count` for every dataset.
    public var plotted = 0
    /// The plot shows components `componentOffset + 1` against `componentOffset + 2`.
    public var componentOffset = 0
    public var density = false

    /// Index into `labelChoices`: shared by the plot's colours and the probes' targets.
    public var labelIndex = 0

    // Probe choices.
    public var method: ProbeMethod = .differenceInMeans
    /// Set when the method shown is sparse probing on the dictionary's top-k latents ("sae
    /// top-k", after the linear methods in the `m` cycle); `method` keeps the last linear one.
    public var sparseK: Int?
    public var metric: ProbeMetric = .accuracy
    /// The selected matrix cell: a training set (row) and a test set (column).
    public var row = 0
    public var column = 0
    /// The cursor in the aligned-features list (positives first, then negatives).
    public var aligned = TableState()
    /// Rows of the aligned-features list the last frame showed (for paging).
    public var alignedVisibleRows = 10

    // Results and the jobs computing them.
    public var projections: [Int: PCAProjection] = [:]
    public var matrices: [ProbeMatrixKey: GeneralizationMatrix] = [:]
    public var alignments: [ProbeAlignmentKey: FeatureAlignmentResult] = [:]
    /// The dictionary's decoder norms, computed by the first alignment job and reused.
    public var aligner: FeatureAlignment?
    public var pcaJob: ProbeJob<Int>?
    public var matrixJob: ProbeJob<ProbeMatrixKey>?
    public var alignmentJob: ProbeJob<ProbeAlignmentKey>?
    public var sparseMatrices: [SparseMatrixKey: SparseProbeMatrix] = [:]
    public var sparseJob: ProbeJob<SparseMatrixKey>?
    /// Each dataset's activations encoded by the dictionary (by dataset name), by the first
    /// sparse job and reused by the rest.
    public var latentCodes: [String: LatentCodes] = [:]

    /// Features listed per sign for the selected probe.
    public static let alignedCount = 10
    /// Components kept per basis: the plot pages through pairs of them.
    public static let maxComponents = 10

    public init() {}

    // MARK: Choices derived from the datasets

    var datasetCount: Int { datasets?.count ?? 0 }

    /// Boolean columns, `label` first, then the rest by name; then the XOR of every two columns
    /// that occur together in some dataset (is `label^has_not` linearly decodable?).
    public var labelChoices: [String] {
        guard let datasets, !datasets.isEmpty else { return ["label"] }
        let columns = Set(datasets.flatMap { $0.booleanColumns.keys })
        let plain = columns.sorted { ($0 == "label" ? 0 : 1, $0) < ($1 == "label" ? 0 : 1, $1) }
        var xors: [String] = []
        for (i, a) in plain.enumerated() {
            for b in plain[(i + 1)...] where datasets.contains(where: { $0.booleanColumns[a] != nil && $0.booleanColumns[b] != nil }) {
                xors.append("\(a)^\(b)")
            }
        }
        return plain + xors
    }

    public var label: String {
        let choices = labelChoices
        return choices[min(max(labelIndex, 0), choices.count - 1)]
    }

    /// The datasets the matrix uses: those with the current label (every column of an XOR) and
    /// both of its values, since a probe needs both classes (`has_not` is constant within each
    /// of the samples, for instance). In load order.
    public var probeDatasets: [ProbeDataset] {
        (datasets ?? []).filter { dataset in
            guard let labels = try? dataset.labels(label) else { return false }
            return labels.contains(true) && labels.contains(false)
        }
    }

    /// Training sets of the matrix: each of `probeDatasets`, and after a negated twin (`neg_x`
    /// beside `x`) their union, as the Geometry of Truth experiments train.
    public var trainSpecs: [String] {
        let names = probeDatasets.map(\.name)
        var specs: [String] = []
        for name in names {
            specs.append(name)
            if name.hasPrefix("neg_"), case let base = String(name.dropFirst(4)), names.contains(base) { specs.append("\(base)+\(name)") }
        }
        return specs
    }

    public var matrixKey: ProbeMatrixKey { ProbeMatrixKey(method: method, label: label) }

    public var matrix: GeneralizationMatrix? { matrices[matrixKey] }

    public var alignmentKey: ProbeAlignmentKey { ProbeAlignmentKey(matrix: matrixKey, row: row, includeDead: includeDead) }
    /// The browser's `includeDeadInRankings`, copied here for the alignment key.
    public var includeDead = false

    /// The selected probe's aligned features: the most positive cosines, then the most negative
    /// (each list keeps its own sign only, which matters when F is small).
    public var alignedSides: (positive: [AlignedFeature], negative: [AlignedFeature]) {
        guard let result = alignments[alignmentKey] else { return ([], []) }
        return (result.mostPositive.filter { $0.cosine > 0 }, result.mostNegative.filter { $0.cosine < 0 })
    }

    /// `alignedSides` as the list shows them, positives first.
    public var alignedFeatures: [AlignedFeature] {
        let sides = alignedSides
        return sides.positive + sides.negative
    }

    /// A name for a basis or plotted choice: a dataset's name, or "all".
    public func choiceName(_ choice: Int) -> String {
        guard let datasets, choice < datasets.count else { return "all" }
        return datasets[choice].name
    }

    /// Dataset names a basis choice fits on.
    public func basisNames(_ choice: Int) -> [String] {
        guard let datasets else { return [] }
        return choice < datasets.count ? [datasets[choice].name] : datasets.map(\.name)
    }

    /// Points to plot: each statement of the plotted dataset(s) on the two components shown,
    /// class 1 when the label is true, 0 when false; in a seeded shuffled order so neither class
    /// is always drawn last. Datasets without the label are left out (and counted).
    public func scatterPoints(_ projection: PCAProjection) -> (points: [ScatterPointData], skipped: [String]) {
        guard let datasets else { return ([], []) }
        var points: [ScatterPointData] = []
        var skipped: [String] = []
        let c = componentOffset
        for (i, dataset) in datasets.enumerated() where plotted == datasets.count || plotted == i {
            guard let labels = try? dataset.labels(label) else { skipped.append(dataset.name); continue }
            let coordinates = projection.coordinates[i]
            guard c + 1 < coordinates.columns else { continue }
            for r in 0..<coordinates.rows {
                points.append(ScatterPointData(x: coordinates[r, c], y: coordinates[r, c + 1], isTrue: labels[r]))
            }
        }
        var rng = SplitMix64(seed: 0x5AE5C0)  // the same shuffle on every machine and every run
        points.shuffle(using: &rng)
        return (points, skipped)
    }
}

/// A plotted statement: its two coordinates and its label.
public struct ScatterPointData: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public var isTrue: Bool
}
