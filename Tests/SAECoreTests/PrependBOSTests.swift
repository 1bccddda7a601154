import SAECore
import XCTest

/// Texts scored beside a cache get the prefix its sequences got.
final class PrependBOSTests: XCTestCase {
    func testCacheWhoseSequencesStartWithBOSAsksForIt() {
        XCTAssertEqual(PrependBOS.mode(forCache: ["bos_token_id": "1", "prefix_token_ids": "[1]"]), "always")
        XCTAssertEqual(PrependBOS.mode(forCache: ["bos_token_id": "101", "prefix_token_ids": "[101]", "suffix_token_ids": "[102]"]), "always")
    }

    func testOtherCachesLeaveTheTokenizerAlone() {
        XCTAssertNil(PrependBOS.mode(forCache: ["bos_token_id": "50256", "prefix_token_ids": "[]"]))
        XCTAssertNil(PrependBOS.mode(forCache: ["prefix_token_ids": "[1]"]))
        XCTAssertNil(PrependBOS.mode(forCache: ["bos_token_id": "1"]))
        XCTAssertNil(PrependBOS.mode(forCache: ["bos_token_id": "1", "prefix_token_ids": "not json"]))
        XCTAssertNil(PrependBOS.mode(forCache: [:]))
    }

    /// The bundled SmolLM2 cache was exported with --prepend-bos always (its tokenizer adds none).
    func testTheSampleCacheAsksForBOS() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("samples/activations/smollm2_l15_pride_and_prejudice.safetensors")
        let cache = try ActivationCache(path: url.path)
        XCTAssertEqual(PrependBOS.mode(forCache: cache.metadata), "always")
    }
}
