import SAECore
import TUI
import XCTest
@testable import App

/// Browsing an index built from a latent cache (`open --sae D --index I`, no cache): the actions
/// that need an activation cache say why there is none, instead of "open with --acts", which
/// does not apply to such an index.
final class CodesIndexBrowsingTests: XCTestCase {
    private func cachelessController(fromLatentCodes: Bool) throws -> AppController {
        let built = try AppFixture.controller()
        let base = built.session
        var index = try IndexFile.read(path: base.indexPath)
        if fromLatentCodes {
            index.provenance.cacheMetadata["source"] = IndexProvenance.latentCacheSource
            index.metrics = MetricsAccumulator(inputDimension: 0, featureCount: AppFixture.f)
            index.coreStatistics = nil
        }
        let session = DictionarySession(saePath: base.saePath, sae: base.sae, cachePath: nil, cache: nil,
                                        tokenizer: base.tokenizer, indexPath: base.indexPath)
        return AppController(session: session, indexState: .loaded(index), jobs: JobCenter())
    }

    func testSequenceAndReindexSayTheIndexIsOfALatentCache() throws {
        let app = try cachelessController(fromLatentCodes: true)
        app.press(.char("w"))
        XCTAssertEqual(app.model.message?.text, "no whole sequences for an index of a latent cache: its exemplars hold their context")
        app.press(.char("o"))
        app.press(.char("r"))
        app.press(.enter)
        XCTAssertEqual(app.model.message?.text, "this index was built from a latent cache: re-index it with saescope index --codes DIR")
    }

    /// An index of activations opened without its cache still points at --acts.
    func testIndexOfActivationsWithoutItsCacheStillAsksForActs() throws {
        let app = try cachelessController(fromLatentCodes: false)
        app.press(.char("w"))
        XCTAssertEqual(app.model.message?.text, "no activation cache open: the whole sequence is read from --acts")
        app.press(.char("o"))
        app.press(.char("r"))
        app.press(.enter)
        XCTAssertEqual(app.model.message?.text, "no activation cache to index (open with --acts)")
    }

    /// `open --sae D --index CODES --acts X`: the codes index read as stale against X and was
    /// silently rebuilt from X over the user's file. Now one error, the file untouched; without
    /// --acts it opens.
    func testALatentCacheIndexGivenWithActsIsRefusedNotReplaced() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SAECoreTests/Fixtures")
        let sae = fixtures.appendingPathComponent("delphi/dictionary").path
        let index = AppFixture.temporaryDirectory().appendingPathComponent("codes.index.safetensors").path
        let built = try FeatureIndexBuilder.build(codes: try DelphiLatentCache(path: fixtures.appendingPathComponent("delphi/run").path),
                                                  sae: nil, saePath: nil, options: FeatureIndexOptions(), progress: { _, _ in })
        try IndexFile.write(built, to: index)
        let before = try Data(contentsOf: URL(fileURLWithPath: index))
        XCTAssertThrowsError(try DictionarySession.open(sae: sae, acts: fixtures.appendingPathComponent("delphi/acts.safetensors").path,
                                                        index: index, tokenizer: nil)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(index) && message.contains("latent cache") && message.contains("without --acts"), message)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: index)), before)
        let (_, state) = try DictionarySession.open(sae: sae, acts: nil, index: index, tokenizer: nil)
        guard case .loaded = state else { return XCTFail("without --acts the codes index opens") }
    }
}
