import Foundation
import SAECore
import XCTest

/// compare's statistics against numpy and scipy, computed from the raw decoders: the median of
/// an even count (both fixtures have an even number of features, so the median is the mean of
/// the two middle values), and the random baseline: A against the seeded random dictionary of
/// B's shape, the same statistics and the optimal assignment's mean cosine.
final class CompareBaselineTests: XCTestCase {
    func testMediansAndRandomBaselineEqualNumpyAndScipy() throws {
        let a = SaescopeBinary.fixtures.appendingPathComponent("dictionaries/saelens_standard").path
        let b = SaescopeBinary.fixtures.appendingPathComponent("compare/wide_f80").path
        let result = try SaescopeBinary.run(["compare", "--a", a, "--b", b, "--json", "--thresholds", "0.9,0.5,0.2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let dictionaryA = try DictionaryLoader.load(path: a), dictionaryB = try DictionaryLoader.load(path: b)
        XCTAssertEqual(dictionaryA.featureCount % 2, 0, "an even count, so the median averages two values")
        XCTAssertEqual(dictionaryB.featureCount % 2, 0)
        let d = dictionaryA.inputDimension
        let random = RandomBaseline.decoderRows(count: dictionaryB.featureCount, dimension: d, seed: RandomBaseline.defaultSeed)

        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-baseline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        func write(_ values: [Float], _ name: String) throws -> String {
            let url = scratch.appendingPathComponent(name)
            try values.withUnsafeBytes { try Data($0).write(to: url) }
            return url.path
        }
        let pathA = try write(dictionaryA.decoderWeights, "a.f32"), pathB = try write(dictionaryB.decoderWeights, "b.f32")
        let pathR = try write(random, "r.f32"), pathJSON = scratch.appendingPathComponent("out.json").path
        try result.stdout.write(toFile: pathJSON, atomically: true, encoding: .utf8)
        try python("""
        import json
        import numpy as np
        from scipy.optimize import linear_sum_assignment
        d = \(d)
        def rows(path, unit=True):
            x = np.fromfile(path, dtype='<f4').astype(np.float64).reshape(-1, d)
            n = np.linalg.norm(x, axis=1, keepdims=True)
            return np.where(n > 0, x / np.where(n > 0, n, 1), 0)
        A, B, R = rows('\(pathA)'), rows('\(pathB)'), rows('\(pathR)')
        raw = np.fromfile('\(pathR)', dtype='<f4').reshape(-1, d)
        assert np.allclose(np.linalg.norm(raw, axis=1), 1, atol=1e-5), 'random rows are unit'
        assert abs(raw.mean()) < 0.05 and abs(raw.std() * np.sqrt(d) - 1) < 0.05, 'Gaussian directions'
        out = json.load(open('\(pathJSON)'))
        def check(summary, best, label):
            assert abs(summary['mean_best_cosine'] - np.mean(best)) < 1e-5, (label, summary['mean_best_cosine'], np.mean(best))
            assert abs(summary['median_best_cosine'] - np.median(best)) < 1e-5, (label, summary['median_best_cosine'], np.median(best))
            for entry in summary['threshold_counts']:
                t = np.float32(entry['threshold'])
                margin = np.abs(best - t) < 1e-5  # float32 products may land either side of a threshold
                assert abs(entry['count'] - int((best >= t).sum())) <= int(margin.sum()), (label, entry, int((best >= t).sum()))
        C = A @ B.T
        check(out['a_to_b'], C.max(axis=1), 'a_to_b')
        check(out['b_to_a'], C.max(axis=0), 'b_to_a')
        # A sorted median of an even count is not a middle value: the check above would catch a lone middle value.
        assert len(C.max(axis=1)) % 2 == 0
        base = out['random_baseline']
        assert base['feature_count'] == R.shape[0]
        Q = A @ R.T
        check(base['a_to_random'], Q.max(axis=1), 'a_to_random')
        check(base['random_to_a'], Q.max(axis=0), 'random_to_a')
        rows_, cols_ = linear_sum_assignment(Q, maximize=True)
        assert base['assignment']['method'] == 'optimal' and base['assignment']['pairs'] == len(rows_)
        assert abs(base['assignment']['mean_cosine'] - Q[rows_, cols_].mean()) < 1e-5, (base['assignment'], Q[rows_, cols_].mean())
        print('ok')
        """)
    }

    func testNoBaselineSkipsIt() throws {
        let a = SaescopeBinary.fixtures.appendingPathComponent("dictionaries/saelens_standard").path
        let b = SaescopeBinary.fixtures.appendingPathComponent("compare/wide_f80").path
        let result = try SaescopeBinary.run(["compare", "--a", a, "--b", b, "--json", "--no-baseline"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        XCTAssertNil(object["random_baseline"])
        XCTAssertNotNil(object["a_to_b"])
        let table = try SaescopeBinary.run(["compare", "--a", a, "--b", b])
        XCTAssertTrue(table.stdout.contains("A -> random") && table.stdout.contains("random       optimal: "), table.stdout)
        XCTAssertTrue(table.stdout.contains(ChanceLevel.caption(dimension: 16, count: 80) + " (A -> B)"), table.stdout)
    }
}
