import CLAPACK
import CBLAS

/// Dense row-major Float64 matrices and the few LAPACK/BLAS calls the probes and PCA need.
public struct Matrix: Sendable, Equatable {
    public var rows: Int
    public var columns: Int
    public var values: [Double]

    public init(rows: Int, columns: Int, values: [Double]) {
        precondition(values.count == rows * columns, "matrix values do not match its shape")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public init(zeros rows: Int, _ columns: Int) {
        self.init(rows: rows, columns: columns, values: [Double](repeating: 0, count: rows * columns))
    }

    public subscript(row: Int, column: Int) -> Double {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    public func row(_ r: Int) -> ArraySlice<Double> { values[r * columns..<(r + 1) * columns] }

    /// Rows `indices`, in that order.
    public func selecting(rows indices: [Int]) -> Matrix {
        var result = Matrix(zeros: indices.count, columns)
        for (target, source) in indices.enumerated() {
            result.values.replaceSubrange(target * columns..<(target + 1) * columns, with: row(source))
        }
        return result
    }

    /// This matrix's rows followed by `other`'s.
    public func stacked(on other: Matrix) -> Matrix {
        precondition(columns == other.columns || rows == 0)
        return Matrix(rows: rows + other.rows, columns: other.columns, values: values + other.values)
    }

    /// Column means.
    public func columnMeans() -> [Double] {
        var mean = [Double](repeating: 0, count: columns)
        for r in 0..<rows { for c in 0..<columns { mean[c] += values[r * columns + c] } }
        return mean.map { $0 / Double(max(rows, 1)) }
    }

    /// Each row minus `vector`.
    public func subtracting(rowVector vector: [Double]) -> Matrix {
        var result = self
        for r in 0..<rows { for c in 0..<columns { result.values[r * columns + c] -= vector[c] } }
        return result
    }

    /// `self * vector`: one dot product per row.
    public func times(_ vector: [Double]) -> [Double] {
        precondition(vector.count == columns)
        var result = [Double](repeating: 0, count: rows)
        guard rows > 0, columns > 0 else { return result }
        cblas_dgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(columns), 1, values, Int32(columns), vector, 1, 0, &result, 1)
        return result
    }

    /// `selfᵀ * vector`.
    public func transposeTimes(_ vector: [Double]) -> [Double] {
        precondition(vector.count == rows)
        var result = [Double](repeating: 0, count: columns)
        guard rows > 0, columns > 0 else { return result }
        cblas_dgemv(CblasRowMajor, CblasTrans, Int32(rows), Int32(columns), 1, values, Int32(columns), vector, 1, 0, &result, 1)
        return result
    }

    /// Thin SVD `self = U diag(s) Vt` (LAPACK dgesdd): `s` descending, `vt` is `[min(rows, columns), columns]`.
    public func thinSVD() throws -> (u: Matrix, s: [Double], vt: Matrix) {
        let m = rows, n = columns, k = min(rows, columns)
        guard k > 0 else { return (Matrix(zeros: m, 0), [], Matrix(zeros: 0, n)) }
        var a = values
        var s = [Double](repeating: 0, count: k)
        var u = [Double](repeating: 0, count: m * k)
        var vt = [Double](repeating: 0, count: k * n)
        let info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "S")), Int32(m), Int32(n), &a, Int32(n),
                                  &s, &u, Int32(k), &vt, Int32(n))
        guard info == 0 else { throw SaescopeError("singular value decomposition failed (LAPACK info \(info))") }
        return (Matrix(rows: m, columns: k, values: u), s, Matrix(rows: k, columns: n, values: vt))
    }
}

func dot(_ a: ArraySlice<Double>, _ b: [Double]) -> Double {
    var sum = 0.0
    for (x, y) in zip(a, b) { sum += x * y }
    return sum
}

func dot(_ a: [Double], _ b: [Double]) -> Double { dot(a[...], b) }
