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
