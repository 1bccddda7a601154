@testable import App
import Foundation
import SAECore
import XCTest

/// What opening does with the index file it finds: use it, rebuild our own unreadable one, refuse a named one.
final class SavedIndexTests: XCTestCase {
    func testAnUnreadableSavedIndexIsRebuiltButANamedOneIsRefused() throws {
        let path = AppFixture.temporaryDirectory().appendingPathComponent("broken.index.safetensors").path
        try Data("not a safetensors file".utf8).write(to: URL(fileURLWithPath: path))
        let session = try AppFixture.session(indexPath: path)
        guard case .needsBuild(let reason) = try session.indexState(explicitIndex: false) else {
            return XCTFail("a broken index in saescope's own cache is rebuilt")
        }
        XCTAssertTrue(reason.contains("could not be used"), reason)
        XCTAssertThrowsError(try session.indexState(explicitIndex: true)) { error in
            XCTAssertTrue("\(error)".contains(path), "the error names the file: \(error)")
        }
    }

    func testAFreshSavedIndexIsLoaded() throws {
        let app = try AppFixture.controller()
        guard case .loaded(let index) = try app.session.indexState(explicitIndex: false) else {
            return XCTFail("the index the app just saved is used as it is")
        }
        XCTAssertEqual(index.tokenCount, app.model.index?.tokenCount)
    }
}

/// The browser's share of issue #13 item 1: no tokenizer beside the cache is said once (the
/// file looked for), on the status line the open command fills from `notices`.
final class TokenizerNoticeTests: XCTestCase {
    func testACacheWhoseTokenizerIsMissingLeavesOneNoticeNamingTheFile() throws {
        let directory = AppFixture.temporaryDirectory()
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SAECoreTests/Fixtures")
        let cache = directory.appendingPathComponent("acts.safetensors")
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("caches/tiny_f32.safetensors"), to: cache)
        let sae = fixtures.appendingPathComponent("dictionaries/dl_topk").path
        let index = directory.appendingPathComponent("i.safetensors").path
        let (bare, _) = try DictionarySession.open(sae: sae, acts: cache.path, index: index, tokenizer: nil)
        XCTAssertNil(bare.tokenizer)
        XCTAssertEqual(bare.notices, ["no tokenizer at \(CanonicalPath.of(directory.path))/tokenizer.json (named by the cache \(CanonicalPath.of(cache.path))), so tokens show as <id> (give --tokenizer)"])

        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("caches/tokenizer.json"), to: directory.appendingPathComponent("tokenizer.json"))
        let (found, _) = try DictionarySession.open(sae: sae, acts: cache.path, index: index, tokenizer: nil)
        XCTAssertNotNil(found.tokenizer)
        XCTAssertEqual(found.notices, [])
    }

    /// `open --sae A --index I` without --acts: the tokenizer beside the cache the index recorded.
    func testAnIndexOpenedAloneFindsTheTokenizerBesideItsCache() throws {
        let directory = AppFixture.temporaryDirectory()
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SAECoreTests/Fixtures")
        let cache = directory.appendingPathComponent("acts.safetensors")
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("caches/tiny_f32.safetensors"), to: cache)
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("caches/tokenizer.json"), to: directory.appendingPathComponent("tokenizer.json"))
        let sae = fixtures.appendingPathComponent("dictionaries/dl_topk").path
        let index = directory.appendingPathComponent("i.safetensors").path
        let built = try FeatureIndexBuilder.build(sae: try DictionaryLoader.load(path: sae), saePath: sae,
                                                  cache: try ActivationCache(path: cache.path), options: FeatureIndexOptions())
        try IndexFile.write(built, to: index)
        let (session, state) = try DictionarySession.open(sae: sae, acts: nil, index: index, tokenizer: nil)
        XCTAssertNotNil(session.tokenizer)
        XCTAssertEqual(session.notices, [])
        guard case .loaded = state else { return XCTFail("the index is used") }
    }
}
