/// Principal components of one or more datasets, each centred on its own mean first.
public struct PCABasis: Sendable {
    /// Components as rows `[k, D]`, by decreasing variance.
    public let components: Matrix
    /// Each component's share of the total variance of the basis data.
    public let explainedVarianceRatio: [Double]

    /// The basis of `datasets` stacked (a union), keeping up to `maxComponents`.
    public init(fitting datasets: [ProbeDataset], maxComponents: Int = 50) throws {
        guard let first = datasets.first else { throw SaescopeError("PCA needs at least one dataset") }
        var stacked = Matrix(zeros: 0, first.dimension)
        for dataset in datasets {
            guard dataset.dimension == first.dimension else {
                throw SaescopeError("activation dimension \(dataset.dimension) differs from \(first.name)'s \(first.dimension)", file: dataset.activationsPath)
            }
            stacked = stacked.stacked(on: dataset.centred())
        }
        let (_, s, vt) = try stacked.thinSVD()
        let squares = s.map { $0 * $0 }
        let total = squares.reduce(0, +)
        let keep = min(maxComponents, s.count)
        // An SVD fixes each component only up to sign, and LAPACK builds differ: make each
        // component's largest-magnitude loading positive (scikit-learn's svd_flip on Vt), so plots
        // and printed coordinates are the same everywhere.
        var values = Array(vt.values[0..<keep * vt.columns])
        for k in 0..<keep {
            let row = k * vt.columns..<(k + 1) * vt.columns
            guard let largest = row.max(by: { abs(values[$0]) < abs(values[$1]) }), values[largest] < 0 else { continue }
            for i in row { values[i] = -values[i] }
        }
        components = Matrix(rows: keep, columns: vt.columns, values: values)
        explainedVarianceRatio = squares.prefix(keep).map { total > 0 ? $0 / total : 0 }
    }

    /// Coordinates of `dataset` (centred on its own mean) on components `offset ..< offset + count`.
    public func project(_ dataset: ProbeDataset, offset: Int = 0, count: Int = 2) throws -> Matrix {
        guard dataset.dimension == components.columns else {
            throw SaescopeError("activation dimension \(dataset.dimension) differs from the basis's \(components.columns)", file: dataset.activationsPath)
        }
        guard offset >= 0, count > 0, offset + count <= components.rows else {
            throw SaescopeError("components \(offset + 1)-\(offset + count) asked, the basis has \(components.rows)")
        }
        let centred = dataset.centred()
        var result = Matrix(zeros: dataset.count, count)
        for c in 0..<count {
            let axis = Array(components.row(offset + c))
            let coordinates = centred.times(axis)
            for r in 0..<dataset.count { result[r, c] = coordinates[r] }
        }
        return result
    }
}
