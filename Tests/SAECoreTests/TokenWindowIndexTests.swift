import XCTest
@testable import SAECore

/// An index over a window of the cache (`--first-token T --max-tokens N`) against the encoder's
/// dense codes of exactly those rows.
final class TokenWindowIndexTests: XCTestCase {
    func testWindowCountsMaximaAndTopRowsMatchTheWindowsCodes() throws {
        let sae = try DictionaryLoader.load(path: Fixtures.path("dictionaries/dl_autoencoder"))
        let cache = try ActivationCache(path: Fixtures.path("caches/tiny_f32.safetensors"))
        let first = 5, count = min(23, cache.rowCount - 5)
        var options = FeatureIndexOptions()
        options.topK = 4
        options.context = 2
        options.firstToken = first
        options.maxTokens = count
        let index = try ProgressiveIndexer.build(sae: sae, saePath: "dl_autoencoder", cache: cache, options: options, steps: 4)
        XCTAssertEqual(index.tokenCount, count)
        XCTAssertEqual(index.provenance.firstRow, first)
        XCTAssertEqual(index.provenance.endRow, first + count)

        var x = [Float](repeating: 0, count: count * sae.inputDimension)
        x.withUnsafeMutableBufferPointer { cache.readRows(first..<(first + count), into: $0.baseAddress!) }
        let encoder = SAEEncoder(sae: sae, maxRows: count)
        x.withUnsafeBufferPointer { encoder.run($0.baseAddress!, rows: count, reconstruct: false) }
        let f = sae.featureCount
        for j in 0..<f {
            let column = (0..<count).map { encoder.codes[$0 * f + j] }
            XCTAssertEqual(Int(index.tables.count[j]), column.filter { $0 > 0 }.count, "feature \(j)")
            XCTAssertEqual(index.maxActivation(j), column.max() ?? 0, accuracy: 1e-6, "feature \(j)")
            let expectedTop = column.indices.filter { column[$0] > 0 }
                .sorted { column[$0] != column[$1] ? column[$0] > column[$1] : $0 < $1 }.prefix(4).map { $0 + first }
            XCTAssertEqual(index.topExemplars(j).map(\.row), Array(expectedTop), "feature \(j)")
        }
    }

    func testWindowsAreCheckedAndDoNotMixWithShards() throws {
        var options = FeatureIndexOptions()
        options.firstToken = 3
        options.shardCount = 2
        XCTAssertThrowsError(try options.validate())
        options.shardCount = 1
        options.firstToken = -1
        XCTAssertThrowsError(try options.validate())

        let sae = try DictionaryLoader.load(path: Fixtures.path("dictionaries/dl_autoencoder"))
        let cache = try ActivationCache(path: Fixtures.path("caches/tiny_f32.safetensors"))
        options.firstToken = cache.rowCount + 10
        XCTAssertThrowsError(try FeatureIndexBuilder.build(sae: sae, saePath: "x", cache: cache, options: options)) { error in
            XCTAssertTrue("\(error)".contains("window is empty"), "\(error)")
        }
    }
}
