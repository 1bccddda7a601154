@testable import App
import SAECore
import TUI
import XCTest

/// While shards merge, the title bar counts the tokens merged so far out of the build's: the
/// partial count alone ("2400 tokens") read as the size of the whole index.
final class TitleBarTests: XCTestCase {
    func testPartialIndexShowsTokensSoFarOfTheBuild() throws {
        var options = AppFixture.small
        options.maxTokens = 30
        let app = try AppFixture.controller(options: options)
        let index = try XCTUnwrap(app.model.index)
        XCTAssertTrue(app.frame(width: 100, height: 24).render()[0].contains("· 30 tokens"))
        let total = FeatureIndexBuilder.rowRange(cache: try XCTUnwrap(app.session.cache), options: app.model.indexOptions).count
        XCTAssertEqual(total, 30)
        app.model.partial = (1, 3)
        let title = app.frame(width: 100, height: 24).render()[0]
        XCTAssertTrue(title.contains("· \(index.tokenCount) of 30 tokens · PARTIAL 1/3"), title)
    }

    /// Every Gemma Scope release names its weights params.npz: given the file, the title names its
    /// folder (as for dictionary_learning's ae.pt), not "params.npz".
    func testSharedWeightsFileNamesAreShownByTheirFolder() throws {
        let base = try AppFixture.controller().session
        for (path, name) in [("layer_20/width_16k/average_l0_71/params.npz", "average_l0_71"), ("run/trainer_0/ae.pt", "trainer_0"),
                             ("saes/my_sae", "my_sae")] {
            let session = DictionarySession(saePath: path, sae: base.sae, cachePath: nil, cache: nil, tokenizer: nil, indexPath: "unused")
            XCTAssertEqual(session.name, name, path)
        }
    }
}
