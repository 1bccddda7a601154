import XCTest
@testable import SAECore

/// `compare`'s decoder matching and assignment against numpy brute force and scipy's optimum
/// (tools/fixtures/make_compare_reference.py, Fixtures/compare/reference.json).
final class CompareTests: XCTestCase {
    private func reference() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("compare/reference.json")))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    private func load(_ relative: String) throws -> SparseAutoencoder {
        try DictionaryLoader.load(path: Fixtures.path(relative))
    }

    private func assertMatches(_ actual: FeatureMatches, _ expected: [String: Any], top: Int, _ label: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        let indices = expected["indices"] as! [[Int]], cosines = expected["cosines"] as! [[Double]]
        XCTAssertEqual(actual.featureCount, indices.count, label, file: file, line: line)
        for j in 0..<indices.count {
            let got = actual.matches(j, limit: top)
            XCTAssertEqual(got.map(\.feature), indices[j], "\(label) feature \(j)", file: file, line: line)
            for (value, wanted) in zip(got.map(\.cosine), cosines[j]) {
                XCTAssertEqual(Double(value), wanted, accuracy: 1e-5, "\(label) feature \(j)", file: file, line: line)
            }
        }
    }

    // MARK: Against numpy brute force

    func testBestMatchesEqualNumpyBruteForceBothWays() throws {
        let pairs = try reference()["pairs"] as! [[String: Any]]
        XCTAssertEqual(pairs.count, 3)
        for pair in pairs {
            let pathA = pair["a"] as! String, pathB = pair["b"] as! String, top = pair["top"] as! Int
            var options = CompareOptions()
            options.top = top
            let comparison = try DictionaryComparison.compute(try load(pathA), pathA: pathA, try load(pathB), pathB: pathB, options: options)
            assertMatches(comparison.matching.aToB, pair["a_to_b"] as! [String: Any], top: top, "\(pathA) -> \(pathB)")
            assertMatches(comparison.matching.bToA, pair["b_to_a"] as! [String: Any], top: top, "\(pathB) -> \(pathA)")
            XCTAssertEqual(comparison.a.featureCount, pair["feature_count_a"] as! Int)
            XCTAssertEqual(comparison.b.featureCount, pair["feature_count_b"] as! Int)
            // 48 x 48 and 48 x 80 are far below the exact limit: the assignment is scipy's optimum.
            XCTAssertEqual(comparison.assignment.method, .optimal)
            XCTAssertEqual(comparison.assignment.pairs.count, pair["optimal_pairs"] as! Int)
            XCTAssertEqual(comparison.assignment.meanCosine, pair["optimal_mean"] as! Double, accuracy: 1e-5, "\(pathA) vs \(pathB)")
            try assertValidAssignment(comparison.assignment, label: "\(pathA) vs \(pathB)")
        }
    }

    /// wide_f80's row 50 is zero: cosine 0 with everything, so its B->A list is the tie 0, 1, 2, 3, 4.
    func testZeroDecoderRowHasCosineZeroAndTiesGoToTheLowerIndex() throws {
        let comparison = try DictionaryComparison.compute(try load("dictionaries/saelens_standard"), pathA: "a",
                                                          try load("compare/wide_f80"), pathB: "b")
        XCTAssertEqual(comparison.zeroRowsB, 1)
        XCTAssertEqual(comparison.zeroRowsA, 0)
        XCTAssertEqual(comparison.matching.bToA.matches(50, limit: 5).map(\.feature), [0, 1, 2, 3, 4])
        XCTAssertEqual(comparison.matching.bToA.matches(50, limit: 5).map(\.cosine), [0, 0, 0, 0, 0])
    }

    func testExactTiesGoToTheLowerIndexBothWays() throws {
        // Unit vectors with exact dot products: A0 = e0, A1 = e1; B = [e1, e0, e0, e2, e0].
        let d = 4
        func e(_ i: Int) -> [Float] { (0..<d).map { $0 == i ? 1 : 0 } }
        let a = e(0) + e(1), b = e(1) + e(0) + e(0) + e(2) + e(0)
        for (rowBlock, columnBlock) in [(1, 1), (2, 2), (1, 3), (64, 64)] {
            let m = try DecoderMatcher.match(normalizedA: a, countA: 2, normalizedB: b, countB: 5, dimension: d, depth: 4,
                                         rowBlock: rowBlock, columnBlock: columnBlock)
            XCTAssertEqual(m.aToB.matches(0).map(\.feature), [1, 2, 4, 0])
            XCTAssertEqual(m.aToB.matches(0).map(\.cosine), [1, 1, 1, 0])
            XCTAssertEqual(m.aToB.matches(1).map(\.feature), [0, 1, 2, 3])
            XCTAssertEqual(m.bToA.depth, 2)
            XCTAssertEqual(m.bToA.matches(3).map(\.feature), [0, 1])
            XCTAssertEqual(m.bToA.matches(2).map(\.feature), [0, 1])
        }
    }

    // MARK: Blocking

    /// Tiny blocks give exactly the lists of one block, and both equal a Float64 brute force.
    func testBlockedEqualsUnblocked() throws {
        var rng = SeededGenerator(seed: 42)
        let d = 12, fa = 37, fb = 53
        let a = DecoderMatcher.normalizedRows(rng.floats(fa * d), count: fa, dimension: d)
        let b = DecoderMatcher.normalizedRows(rng.floats(fb * d), count: fb, dimension: d)
        let whole = try DecoderMatcher.match(normalizedA: a, countA: fa, normalizedB: b, countB: fb, dimension: d, depth: 7, rowBlock: 1 << 20, columnBlock: 1 << 20)
        for (rowBlock, columnBlock) in [(1, 1), (1, 7), (5, 1), (3, 4), (8, 16), (37, 53), (36, 52)] {
            let blocked = try DecoderMatcher.match(normalizedA: a, countA: fa, normalizedB: b, countB: fb, dimension: d, depth: 7,
                                               rowBlock: rowBlock, columnBlock: columnBlock)
            XCTAssertEqual(blocked.aToB.indices, whole.aToB.indices, "blocks \(rowBlock) x \(columnBlock)")
            XCTAssertEqual(blocked.bToA.indices, whole.bToA.indices, "blocks \(rowBlock) x \(columnBlock)")
            for (x, y) in zip(blocked.aToB.cosines + blocked.bToA.cosines, whole.aToB.cosines + whole.bToA.cosines) {
                XCTAssertEqual(x, y, accuracy: 1e-6)
            }
        }
        // Float64 brute force.
        for i in 0..<fa {
            let cosines = (0..<fb).map { j in (0..<d).reduce(0.0) { $0 + Double(a[i * d + $1]) * Double(b[j * d + $1]) } }
            let order = (0..<fb).sorted { (cosines[$0], -$0) > (cosines[$1], -$1) }
            XCTAssertEqual(whole.aToB.matches(i).map(\.feature), Array(order.prefix(7)), "A feature \(i)")
        }
    }

    func testDepthIsCappedAtTheOtherSidesFeatureCount() throws {
        let d = 3
        let a: [Float] = [1, 0, 0, 0, 1, 0, 0, 0, 1], b: [Float] = [0, 0, 1, 1, 0, 0]
        let m = try DecoderMatcher.match(normalizedA: a, countA: 3, normalizedB: b, countB: 2, dimension: d, depth: 10)
        XCTAssertEqual(m.aToB.depth, 2)
        XCTAssertEqual(m.bToA.depth, 3)
        XCTAssertEqual(m.aToB.matches(2).map(\.feature), [0, 1])
        XCTAssertEqual(m.bToA.matches(1).map(\.feature), [0, 1, 2])
    }

    // MARK: Assignment

    func testOptimalAssignmentEqualsScipy() throws {
        let cases = try reference()["assignment_cases"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(cases.count, 10)
        for (n, entry) in cases.enumerated() {
            let rows = entry["rows"] as! Int, columns = entry["columns"] as! Int
            let scores = (entry["scores"] as! [Double]).map { Float($0) }
            let assignment = LinearAssignment.optimal(scores: scores, rows: rows, columns: columns)
            XCTAssertEqual(assignment.count, rows)
            let chosen = assignment.enumerated().filter { $0.element >= 0 }
            XCTAssertEqual(chosen.count, min(rows, columns), "case \(n)")
            XCTAssertEqual(Set(chosen.map(\.element)).count, chosen.count, "case \(n): a column used twice")
            let total = chosen.reduce(0.0) { $0 + Double(scores[$1.offset * columns + $1.element]) }
            XCTAssertEqual(total, entry["optimal_total"] as! Double, accuracy: 1e-5, "case \(n) (\(rows) x \(columns))")
        }
    }

    /// Exhaustive check on tiny random cases: no permutation beats the returned assignment.
    func testOptimalAssignmentBeatsEveryPermutation() {
        var rng = SeededGenerator(seed: 7)
        func permutations(_ items: [Int]) -> [[Int]] {
            guard items.count > 1 else { return [items] }
            return items.indices.flatMap { i -> [[Int]] in
                var rest = items
                let first = rest.remove(at: i)
                return permutations(rest).map { [first] + $0 }
            }
        }
        for _ in 0..<30 {
            let n = Int.random(in: 1...6, using: &rng)
            let scores = rng.floats(n * n)
            let assignment = LinearAssignment.optimal(scores: scores, rows: n, columns: n)
            let total = assignment.enumerated().reduce(0.0) { $0 + Double(scores[$1.offset * n + $1.element]) }
            let best = permutations(Array(0..<n)).map { p in p.enumerated().reduce(0.0) { $0 + Double(scores[$1.offset * n + $1.element]) } }.max()!
            XCTAssertEqual(total, best, accuracy: 1e-9)
        }
    }

    func testGreedyIsAValidMatchingNoBetterThanTheOptimum() throws {
        for (pathA, pathB) in [("dictionaries/dl_autoencoder", "dictionaries/saelens_standard"), ("compare/wide_f80", "dictionaries/dl_topk"),
                               ("dictionaries/saelens_standard", "compare/wide_f80")] {
            let a = try load(pathA), b = try load(pathB)
            let optimal = try DictionaryComparison.compute(a, pathA: pathA, b, pathB: pathB)
            for depth in [1, 3, 10] {
                var options = CompareOptions()
                options.exactAssignmentLimit = 0
                options.candidateDepth = depth
                options.top = 1
                let greedy = try DictionaryComparison.compute(a, pathA: pathA, b, pathB: pathB, options: options)
                XCTAssertEqual(greedy.assignment.method, .greedy)
                XCTAssertEqual(greedy.assignment.pairs.count, min(a.featureCount, b.featureCount), "every feature of the smaller side is matched")
                try assertValidAssignment(greedy.assignment, label: "greedy \(pathA) vs \(pathB) depth \(depth)")
                XCTAssertLessThanOrEqual(greedy.assignment.meanCosine, optimal.assignment.meanCosine + 1e-6)
                // Greedy's first pick is the globally best pair: its cosine is the largest best-match cosine.
                let best = greedy.matching.aToB.bestCosines.max()!
                XCTAssertTrue(greedy.assignment.pairs.contains { $0.cosine == best })
            }
        }
    }

    /// B = a permutation of A plus small noise: greedy and optimal both recover the permutation.
    func testGreedyRecoversAPermutation() throws {
        var rng = SeededGenerator(seed: 3)
        let d = 32, f = 300
        let a = DecoderMatcher.normalizedRows(rng.floats(f * d), count: f, dimension: d)
        let permutation = Array(0..<f).shuffled(using: &rng)
        var bRaw = [Float](repeating: 0, count: f * d)
        for (row, source) in permutation.enumerated() {
            for i in 0..<d { bRaw[row * d + i] = a[source * d + i] + 0.02 * Float.random(in: -1...1, using: &rng) }
        }
        let b = DecoderMatcher.normalizedRows(bRaw, count: f, dimension: d)
        let matching = try DecoderMatcher.match(normalizedA: a, countA: f, normalizedB: b, countB: f, dimension: d, depth: 5, rowBlock: 64, columnBlock: 100)
        let greedy = try DictionaryComparison.greedyAssignment(matching, normalizedA: a, normalizedB: b, dimension: d, depth: 5, exactLimit: 0,
                                                           rowBlock: 64, columnBlock: 100)
        let optimal = DictionaryComparison.optimalAssignment(normalizedA: a, normalizedB: b, countA: f, countB: f, dimension: d)
        var expected = [Int](repeating: -1, count: f)
        for (row, source) in permutation.enumerated() { expected[source] = row }
        XCTAssertEqual(greedy.pairs.map(\.b), expected)
        XCTAssertEqual(optimal.pairs.map(\.b), expected)
        XCTAssertEqual(greedy.rounds, 1)
    }

    /// Rounds: when the candidate lists run out, the leftover features are matched among themselves.
    func testGreedyRoundsMatchEveryFeature() throws {
        var rng = SeededGenerator(seed: 5)
        let d = 8, fa = 90, fb = 70
        let a = DecoderMatcher.normalizedRows(rng.floats(fa * d), count: fa, dimension: d)
        let b = DecoderMatcher.normalizedRows(rng.floats(fb * d), count: fb, dimension: d)
        let matching = try DecoderMatcher.match(normalizedA: a, countA: fa, normalizedB: b, countB: fb, dimension: d, depth: 1)
        let assignment = try DictionaryComparison.greedyAssignment(matching, normalizedA: a, normalizedB: b, dimension: d, depth: 1, exactLimit: 0,
                                                               rowBlock: 16, columnBlock: 16)
        XCTAssertEqual(assignment.pairs.count, fb)
        XCTAssertGreaterThan(assignment.rounds, 1)
        XCTAssertEqual(assignment.unmatchedA, fa - fb)
        XCTAssertEqual(assignment.unmatchedB, 0)
        XCTAssertEqual(Set(assignment.pairs.map(\.b)).count, fb)
        for pair in assignment.pairs {
            let cosine = (0..<d).reduce(Float(0)) { $0 + a[pair.a * d + $1] * b[pair.b * d + $1] }
            XCTAssertEqual(pair.cosine, cosine, accuracy: 1e-5)
        }
    }

    // MARK: Summaries

    func testHistogramAndThresholdCounts() throws {
        let comparison = try DictionaryComparison.compute(try load("dictionaries/dl_autoencoder"), pathA: "a",
                                                          try load("dictionaries/saelens_standard"), pathB: "b")
        for (summary, matches) in [(comparison.summaryAToB, comparison.matching.aToB), (comparison.summaryBToA, comparison.matching.bToA)] {
            let best = matches.bestCosines
            XCTAssertEqual(summary.histogram.counts.count, 20)
            XCTAssertEqual(summary.histogram.counts.reduce(0, +), 48)
            for (i, n) in summary.histogram.counts.enumerated() {
                let (lower, upper) = summary.histogram.bin(i)
                let inside = best.filter { Double($0) >= lower - 1e-12 && (Double($0) < upper || (i == 19 && Double($0) <= upper)) }
                XCTAssertEqual(n, inside.count, "bin \(i)")
            }
            XCTAssertEqual(summary.thresholdCounts.map(\.threshold), [0.9, 0.7, 0.5])
            XCTAssertEqual(summary.thresholdCounts.map(\.count), [0.9, 0.7, 0.5].map { t in best.filter { $0 >= Float(t) }.count })
            XCTAssertEqual(summary.meanBestCosine, best.reduce(0.0) { $0 + Double($1) } / 48, accuracy: 1e-12)
        }
        XCTAssertEqual(CosineHistogram(values: [1, 1.0000001, -1, -0.95, 0], bins: 20).counts.enumerated().filter { $0.element > 0 }.map { [$0.offset, $0.element] },
                       [[0, 2], [10, 1], [19, 2]])
    }

    func testSelfComparisonIsTheIdentity() throws {
        let sae = try load("dictionaries/saelens_standard")
        let comparison = try DictionaryComparison.compute(sae, pathA: "a", sae, pathB: "b")
        XCTAssertEqual(comparison.assignment.pairs.map(\.b), Array(0..<48))
        XCTAssertEqual(comparison.assignment.meanCosine, 1, accuracy: 1e-6)
        XCTAssertEqual(comparison.summaryAToB.thresholdCounts.map(\.count), [48, 48, 48])
        XCTAssertEqual((0..<48).map(comparison.matching.aToB.bestFeature), Array(0..<48))
    }

    func testDifferentWidthsAreAnErrorNamingBothPaths() throws {
        let a = try load("dictionaries/saelens_standard"), b = try load("compare/narrow_d8")
        XCTAssertThrowsError(try DictionaryComparison.compute(a, pathA: "first/path", b, pathB: "second/path")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("first/path") && text.contains("second/path") && text.contains("D=16") && text.contains("D=8"), text)
            XCTAssertFalse(text.contains("\n"))
        }
    }

    // MARK: Activation agreement

    func testActivationAgreementIsTheJaccardOverlapOfTopRows() throws {
        let cache = try ActivationCache(path: Fixtures.path("caches/tiny_f32.safetensors"))
        var options = FeatureIndexOptions()
        options.topK = 5
        let a = try load("dictionaries/dl_autoencoder"), b = try load("dictionaries/saelens_standard")
        let indexA = try FeatureIndexBuilder.build(sae: a, saePath: "a", cache: cache, options: options)
        let indexB = try FeatureIndexBuilder.build(sae: b, saePath: "b", cache: cache, options: options)
        var comparison = try DictionaryComparison.compute(a, pathA: "a", b, pathB: "b")
        try comparison.addAgreement(indexA: indexA, pathA: "ia", indexB: indexB, pathB: "ib")
        let agreement = try XCTUnwrap(comparison.agreement)
        XCTAssertEqual(agreement.perPair.count, comparison.assignment.pairs.count)
        for (pair, value) in zip(comparison.assignment.pairs, agreement.perPair) {
            let x = Set(indexA.topExemplars(pair.a).map(\.row)), y = Set(indexB.topExemplars(pair.b).map(\.row))
            if x.isEmpty && y.isEmpty {
                XCTAssertNil(value)
            } else {
                XCTAssertEqual(value, Double(x.intersection(y).count) / Double(x.union(y).count))
            }
        }
        XCTAssertNotNil(agreement.mean)
        // Same dictionary, same cache: perfect agreement on every live feature.
        var same = try DictionaryComparison.compute(a, pathA: "a", a, pathB: "a")
        try same.addAgreement(indexA: indexA, pathA: "ia", indexB: indexA, pathB: "ia")
        XCTAssertEqual(same.agreement?.perPair.compactMap { $0 }.allSatisfy { $0 == 1 }, true)

        // Indexes over different caches cannot be compared.
        let other = try FeatureIndexBuilder.build(sae: b, saePath: "b", cache: try ActivationCache(path: Fixtures.path("caches/tiny_f16.safetensors")), options: options)
        XCTAssertThrowsError(try comparison.addAgreement(indexA: indexA, pathA: "ia", indexB: other, pathB: "ib")) { error in
            XCTAssertTrue("\(error)".contains("different activation caches"), "\(error)")
        }
    }

    // MARK: JSON

    func testFullJSONRoundTrip() throws {
        let a = try load("dictionaries/dl_autoencoder"), b = try load("compare/wide_f80")
        var options = CompareOptions()
        options.top = 3
        let comparison = try DictionaryComparison.compute(a, pathA: "/no/such/A path \"quoted\"", b, pathB: "b", options: options)
        let object = try JSONSerialization.jsonObject(with: Data(ComparisonJSON.full(comparison).utf8)) as! [String: Any]
        XCTAssertEqual(object["version"] as? Int, 1)
        let identityA = object["a"] as! [String: Any]
        XCTAssertEqual(identityA["path"] as? String, "/no/such/A path \"quoted\"")
        let pathB = (object["b"] as! [String: Any])["path"] as! String
        XCTAssertTrue(pathB.hasPrefix("/") && pathB.hasSuffix("/b"), "recorded absolute: \(pathB)")
        XCTAssertEqual(identityA["library"] as? String, "dictionary_learning")
        XCTAssertEqual(identityA["feature_count"] as? Int, 48)
        XCTAssertEqual((object["b"] as! [String: Any])["feature_count"] as? Int, 80)
        XCTAssertEqual((object["b"] as! [String: Any])["zero_decoder_rows"] as? Int, 1)
        let ab = object["a_to_b"] as! [String: Any]
        let matches = ab["matches"] as! [[Int]], cosines = ab["cosines"] as! [[Double]]
        XCTAssertEqual(matches.count, 48)
        XCTAssertTrue(matches.allSatisfy { $0.count == 3 })
        for j in 0..<48 {
            XCTAssertEqual(matches[j], comparison.matching.aToB.matches(j, limit: 3).map(\.feature))
            XCTAssertEqual(cosines[j].map { Float($0) }, comparison.matching.aToB.matches(j, limit: 3).map(\.cosine))
        }
        XCTAssertEqual((object["b_to_a"] as! [String: Any])["best"] as? [Int], (0..<80).map(comparison.matching.bToA.bestFeature))
        let assignment = object["assignment"] as! [String: Any]
        XCTAssertEqual(assignment["method"] as? String, "optimal")
        XCTAssertEqual(assignment["pairs"] as? Int, 48)
        XCTAssertEqual(assignment["a"] as? [Int], comparison.assignment.pairs.map(\.a))
        XCTAssertEqual(assignment["b"] as? [Int], comparison.assignment.pairs.map(\.b))
        XCTAssertEqual((assignment["cosine"] as! [Double]).map { Float($0) }, comparison.assignment.pairs.map(\.cosine))
        XCTAssertEqual(assignment["unmatched_b"] as? Int, 32)
        let histogram = ab["histogram"] as! [String: Any]
        XCTAssertEqual(histogram["counts"] as? [Int], comparison.summaryAToB.histogram.counts)
        let counts = ab["threshold_counts"] as! [[String: Any]]
        XCTAssertEqual(counts.map { $0["count"] as! Int }, comparison.summaryAToB.thresholdCounts.map(\.count))
        XCTAssertNil(object["metrics"])

        // The summary leaves the per-feature arrays out.
        let summary = try JSONSerialization.jsonObject(with: Data(ComparisonJSON.summary(comparison).utf8)) as! [String: Any]
        XCTAssertNil((summary["a_to_b"] as! [String: Any])["matches"])
        XCTAssertNil((summary["assignment"] as! [String: Any])["a"])
        XCTAssertEqual((summary["assignment"] as! [String: Any])["mean_cosine"] as! Double, comparison.assignment.meanCosine, accuracy: 1e-12)  // Foundation may parse 1 ulp off
    }

    // MARK: Helpers

    private func assertValidAssignment(_ assignment: FeatureAssignment, label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(Set(assignment.pairs.map(\.a)).count, assignment.pairs.count, "\(label): an A feature used twice", file: file, line: line)
        XCTAssertEqual(Set(assignment.pairs.map(\.b)).count, assignment.pairs.count, "\(label): a B feature used twice", file: file, line: line)
        XCTAssertEqual(assignment.pairs.map(\.a), assignment.pairs.map(\.a).sorted(), file: file, line: line)
    }
}
