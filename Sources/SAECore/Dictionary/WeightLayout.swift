/// Small layout conversions shared by the loaders: every library stores the same matrices in
/// different orientations (nn.Linear keeps `[out, in]`).
enum WeightLayout {
    /// Transposes a row-major `[rows, columns]` matrix into `[columns, rows]`.
    static func transpose(_ matrix: [Float], rows: Int, columns: Int) -> [Float] {
        precondition(matrix.count == rows * columns)
        var result = [Float](repeating: 0, count: matrix.count)
        for r in 0..<rows {
            for c in 0..<columns { result[c * rows + r] = matrix[r * columns + c] }
        }
        return result
    }

    /// Euclidean norm of each row of a row-major `[rows, columns]` matrix, accumulated in Double.
    static func rowNorms(_ matrix: [Float], rows: Int, columns: Int) -> [Float] {
        (0..<rows).map { r in
            var sum = 0.0
            for c in 0..<columns {
                let value = Double(matrix[r * columns + c])
                sum += value * value
            }
            return Float(sum.squareRoot())
        }
    }

    /// Multiplies column `j` of a row-major `[rows, columns]` matrix by `factors[j]`.
    static func scaleColumns(_ matrix: inout [Float], rows: Int, columns: Int, by factors: [Float]) {
        for r in 0..<rows {
            for c in 0..<columns { matrix[r * columns + c] *= factors[c] }
        }
    }

    /// Multiplies row `i` of a row-major `[rows, columns]` matrix by `factors[i]`.
    static func scaleRows(_ matrix: inout [Float], rows: Int, columns: Int, by factors: [Float]) {
        for r in 0..<rows {
            for c in 0..<columns { matrix[r * columns + c] *= factors[r] }
        }
    }
}
