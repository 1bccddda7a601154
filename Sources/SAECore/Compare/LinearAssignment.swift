/// One-to-one matchings that maximise the total score.
public enum LinearAssignment {
    /// The optimal assignment of a dense `rows x columns` score matrix (row-major): for each row
    /// its column, or -1 when there are more rows than columns and the row is left out. Every
    /// row (or every column, when there are fewer columns) is assigned, and the total score is
    /// maximal.
    ///
    /// Shortest augmenting paths with dual potentials (the Hungarian method in the form of
    /// Jonker & Volgenant): one Dijkstra-like pass per row over the columns, O(n² m) time for
    /// n = min(rows, columns), m = max, O(n + m) memory besides the matrix. Potentials are Float64.
    public static func optimal(scores: [Float], rows: Int, columns: Int) -> [Int] {
        precondition(scores.count == rows * columns)
        guard rows > 0, columns > 0 else { return [Int](repeating: -1, count: rows) }
        if rows <= columns {
            return scores.withUnsafeBufferPointer { optimalWideRows($0.baseAddress!, rows: rows, columns: columns) }
        }
        // More rows than columns: solve the transposed problem and invert it.
        var transposed = [Float](repeating: 0, count: rows * columns)
        for i in 0..<rows { for j in 0..<columns { transposed[j * rows + i] = scores[i * columns + j] } }
        let columnToRow = transposed.withUnsafeBufferPointer { optimalWideRows($0.baseAddress!, rows: columns, columns: rows) }
        var rowToColumn = [Int](repeating: -1, count: rows)
        for (column, row) in columnToRow.enumerated() where row >= 0 { rowToColumn[row] = column }
        return rowToColumn
    }

    /// The optimal assignment when rows <= columns: each row's column. `scores` is row-major `[rows, columns]`.
    static func optimalWideRows(_ scores: UnsafePointer<Float>, rows n: Int, columns m: Int) -> [Int] {
        precondition(n <= m)
        // Minimises the cost -score. 1-based as in the textbook formulation; column 0 is the virtual root.
        var u = [Double](repeating: 0, count: n + 1)
        var v = [Double](repeating: 0, count: m + 1)
        var rowOfColumn = [Int](repeating: 0, count: m + 1)  // 0 = free
        var way = [Int](repeating: 0, count: m + 1)
        var minimum = [Double](repeating: .infinity, count: m + 1)
        var used = [Bool](repeating: false, count: m + 1)
        u.withUnsafeMutableBufferPointer { u in
        v.withUnsafeMutableBufferPointer { v in
        rowOfColumn.withUnsafeMutableBufferPointer { rowOfColumn in
        way.withUnsafeMutableBufferPointer { way in
        minimum.withUnsafeMutableBufferPointer { minimum in
        used.withUnsafeMutableBufferPointer { used in
            for i in 1...n {
                rowOfColumn[0] = i
                var column0 = 0
                for j in 0...m { minimum[j] = .infinity; used[j] = false }
                repeat {
                    used[column0] = true
                    let row0 = rowOfColumn[column0]
                    let costRow = scores + (row0 - 1) * m - 1  // costRow[j] = score of column j (1-based)
                    let base = u[row0]
                    var delta = Double.infinity
                    var column1 = 0
                    for j in 1...m where !used[j] {
                        let reduced = -Double(costRow[j]) - base - v[j]
                        if reduced < minimum[j] { minimum[j] = reduced; way[j] = column0 }
                        if minimum[j] < delta { delta = minimum[j]; column1 = j }
                    }
                    for j in 0...m {
                        if used[j] { u[rowOfColumn[j]] += delta; v[j] -= delta } else { minimum[j] -= delta }
                    }
                    column0 = column1
                } while rowOfColumn[column0] != 0
                repeat {
                    let previous = way[column0]
                    rowOfColumn[column0] = rowOfColumn[previous]
                    column0 = previous
                } while column0 != 0
            }
        } } } } } }
        var result = [Int](repeating: -1, count: n)
        for j in 1...m where rowOfColumn[j] != 0 { result[rowOfColumn[j] - 1] = j - 1 }
        return result
    }

    /// A candidate pair for the greedy matching.
    public struct Candidate: Sendable, Equatable {
        public var row: Int32
        public var column: Int32
        public var score: Float
        public init(row: Int32, column: Int32, score: Float) { self.row = row; self.column = column; self.score = score }
    }

    /// Greedy matching on a candidate list: candidates by score descending (ties: lower row, then
    /// lower column), each taken when both its row and its column are still free. Each taken pair
    /// is the best remaining candidate of both its ends, and (for nonnegative scores) the total is at least half the
    /// optimum over the same candidates; rows whose candidates were all taken stay unmatched (-1).
    public static func greedy(candidates: [Candidate], rows: Int, columns: Int) -> [Int] {
        var sorted = candidates
        sorted.sort { ($0.score, -$0.row, -$0.column) > ($1.score, -$1.row, -$1.column) }
        var rowToColumn = [Int](repeating: -1, count: rows)
        var columnTaken = [Bool](repeating: false, count: columns)
        var remaining = min(rows, columns)
        for candidate in sorted where remaining > 0 {
            let r = Int(candidate.row), c = Int(candidate.column)
            guard rowToColumn[r] < 0, !columnTaken[c] else { continue }
            rowToColumn[r] = c
            columnTaken[c] = true
            remaining -= 1
        }
        return rowToColumn
    }
}
