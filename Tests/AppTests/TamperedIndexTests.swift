@testable import App
import Foundation
import SAECore
import XCTest

/// Issue #13 item 7 for `open`: a named index whose fields were tampered with is refused with a
/// one-line error naming it (the same validation as export, merge and compare), and saescope's
/// own tampered cache file is rebuilt rather than crashing the browser.
final class TamperedIndexTests: XCTestCase {
    func testTamperedIndexIsRefusedOrRebuiltNeverCrashes() throws {
        let app = try AppFixture.controller()
        guard case .loaded(let valid) = try app.session.indexState(explicitIndex: false) else { return XCTFail("no saved index") }
        let folder = AppFixture.temporaryDirectory()
        let tamperings: [(String, (inout FeatureIndex) -> Void)] = [
            ("negative histogram count", { $0.tables.histogram[0] = -5 }),
            ("count above the tokens", { $0.tables.count[0] = Int64.max }),
            ("NaN max", { $0.tables.maxValue[0] = .nan }),
            ("huge range exponent", { $0.tables.rangeExponent[1] = Int32.max }),
            ("top count past top-k", { $0.tables.topCount[0] = 1000 }),
            ("negative top row", { index in
                if let j = (0..<index.featureCount).first(where: { index.tables.topCount[$0] > 0 }) { index.tables.topRow[j * index.options.topK] = -3 }
            }),
        ]
        for (name, tamper) in tamperings {
            var index = valid
            tamper(&index)
            let path = folder.appendingPathComponent("\(name.replacingOccurrences(of: " ", with: "-")).index.safetensors").path
            try IndexFile.write(index, to: path)
            let session = try AppFixture.session(indexPath: path)
            XCTAssertThrowsError(try session.indexState(explicitIndex: true), name) { error in
                XCTAssertTrue("\(error)".hasPrefix(path + ": "), "\(name): \(error)")
                XCTAssertFalse("\(error)".contains("\n"))
            }
            guard case .needsBuild = try session.indexState(explicitIndex: false) else { return XCTFail("\(name): our own file is rebuilt") }
        }
    }
}
