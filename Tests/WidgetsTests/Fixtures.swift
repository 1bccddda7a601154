import TUI
import Widgets

/// Fixed data for the widget snapshots.
enum Fixtures {
    static let topTokens = ["the", " of", "東京", " 🙂", "naïve", "\n", " and", "\tx", " résumé", "👨‍👩‍👧",
                            " transformer", " supercalifragilistic", "ＡＢＣ", " is", "e\u{301}"]

    static func featureTable(rows: Int = 200) -> Table {
        var t = Table(columns: [
            Table.Column("id", width: .fixed(6), alignment: .right),
            Table.Column("density", width: .fixed(9), alignment: .right),
            Table.Column("max", width: .fixed(6), alignment: .right),
            Table.Column("top token", width: .flex(weight: 1, min: 6)),
        ], rowCount: rows) { row, col in
            switch col {
            case 0: return String(row)
            case 1: return NumberFormat.compact(Double((row * 7919) % 1000 + 1) / 100_000)
            case 2: return NumberFormat.fixed(Double((row * 31) % 97) / 7, decimals: 2)
            default: return topTokens[row % topTokens.count]
            }
        }
        t.sortColumn = 1
        t.sortAscending = false
        t.isMarked = { [3, 9, 15, 16].contains($0) }
        t.rowStyle = { $0 % 10 == 4 ? .fg(.dimText) : nil }
        return t
    }

    static let histogramCounts: [Double] = [0, 2, 5, 11, 19, 34, 52, 71, 80, 77, 63, 48, 31, 20, 12, 7, 4, 2, 1, 1]
    static let histogramEdges: [Double] = (0...20).map { Double($0) / 10 }

    static func densities(count: Int = 1000) -> [Double] {
        var g = LCG(seed: 7)
        return (0..<count).map { i in
            if i % 10 == 3 { return 0 }
            // 10^(-1 - 4u) with u from a bump around the middle.
            let u = (g.uniform() + g.uniform() + g.uniform()) / 3
            return pow10(-1 - 4.5 * u)
        }
    }

    /// 10^x for the fixture without libm differences: exact powers and a fixed rational table.
    private static func pow10(_ x: Double) -> Double {
        // Round to 1/16 decade for stability across platforms, then exponentiate by squaring.
        let k = (x * 16).rounded()
        var v = 1.0
        let step = 0.8659643233600653  // 10^(-1/16)
        for _ in 0..<Int(-k) { v *= step }
        return v
    }

    static let tokens = ["<|endoftext|>", "The", " cat", " sat", " on", " the", " mat", ".", "\n", "東京", " is",
                         " 🙂", "\t", " big", " and", " warm"]
    static let activations: [Double] = [0, 0.05, 0.1, 0.2, 0, 0.4, 1.0, 0.6, 0.3, 0.8, 0.15, 0.5, 0, 0.25, 0.9, 0.7]

    static func scatterPoints() -> [ScatterPoint] {
        var g = LCG(seed: 42)
        var pts: [ScatterPoint] = []
        for i in 0..<600 {
            let cls = i % 2
            let cx = cls == 0 ? -1.5 : 1.2
            let cy = cls == 0 ? 0.5 : -0.4
            pts.append(ScatterPoint(x: cx + g.normal() * 0.9, y: cy + g.normal() * 0.6, cls: cls))
        }
        return pts
    }

    /// A dictionary's worth of map points: a main cloud of densities 1e-4..1e-1, a dense clump
    /// of near-duplicates (figure near 1), and every 25th feature dead.
    static func featureMapPoints() -> [FeatureMapPoint] {
        var g = LCG(seed: 7)
        return (0..<500).map { i in
            if i % 25 == 0 { return FeatureMapPoint(logDensity: nil, figure: 0.2 + 0.3 * g.uniform()) }
            if i % 10 == 1 { return FeatureMapPoint(logDensity: -1.2 + 0.2 * g.uniform(), figure: 0.95 + 0.05 * g.uniform()) }
            return FeatureMapPoint(logDensity: -2.5 + 0.6 * g.normal(), figure: 0.3 + 0.12 * g.normal())
        }
    }

    static let matrixLabels = ["cities", "neg_cities", "sp_en_trans", "larger_than", "cities+neg"]
    static let matrix: [[Double]] = [
        [0.99, 0.52, 0.81, 0.64, 0.77],
        [0.48, 0.98, 0.72, 0.58, 0.75],
        [0.86, 0.71, 1.00, 0.66, 0.83],
        [0.61, 0.55, 0.69, 0.97, 0.60],
        [0.98, 0.97, 0.88, 0.67, .nan],
    ]
}
