import XCTest
@testable import SAECore

/// The default index file's name: Gemma Scope's params.npz, which every release shares, is named
/// by its folder; every other dictionary keeps its own name (existing default files still match).
final class IndexLocationNameTests: XCTestCase {
    func testGemmaScopeWeightsFileIsNamedByItsFolder() {
        let file = IndexLocation.defaultPath(sae: "/r/layer_20/width_16k/average_l0_71/params.npz", acts: "/acts.safetensors")
        XCTAssertTrue((file as NSString).lastPathComponent.hasPrefix("average_l0_71-"), file)
        XCTAssertTrue(file.hasSuffix(".index.safetensors"), file)
        let folder = IndexLocation.defaultPath(sae: "/r/layer_20/width_16k/average_l0_71", acts: "/acts.safetensors")
        XCTAssertTrue((folder as NSString).lastPathComponent.hasPrefix("average_l0_71-"), folder)
        // Different paths, different files: the hash keys the path as given.
        XCTAssertNotEqual(file, folder)
    }

    func testOtherDictionariesKeepTheirOwnName() {
        for (path, prefix) in [("/d/trainer_0/ae.pt", "ae.pt-"), ("/d/trainer_0", "trainer_0-"), ("/d/saelens_topk", "saelens_topk-")] {
            let file = IndexLocation.defaultPath(sae: path, acts: "/acts.safetensors")
            XCTAssertTrue((file as NSString).lastPathComponent.hasPrefix(prefix), file)
        }
    }
}
