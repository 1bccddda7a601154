import App
import Foundation
import SAECore
import XCTest

/// A second dictionary of the fixture's width for the compare screen: some decoder rows are ten
/// times one of A's rows plus small integer noise (strong, distinct matches), some the same
/// negated, the rest fresh integers. Integer weights keep every figure exact, and the cosines
/// that decide an order (each feature's best matches both ways, A's best cosines, the optimal
/// assignment) are at least 1e-4 apart, so no order hangs on float rounding (checked against
/// numpy and scipy when the fixture was chosen).
extension AppFixture {
    static let fB = 12

    static func secondSession(alongside a: DictionarySession) throws -> DictionarySession {
        let decoderA = a.sae.decoderWeights
        var decoder: [Float] = []
        for k in 0..<fB {
            let noise = (0..<d).map { Float(hashed(k * d + $0, 8, -3, 3)) }
            switch k % 3 {
            case 0: decoder += (0..<d).map { 10 * decoderA[(k * 5 % f) * d + $0] + noise[$0] }
            case 1: decoder += (0..<d).map { -10 * decoderA[(k * 7 % f) * d + $0] + noise[$0] }
            default: decoder += (0..<d).map { Float(hashed(k * d + $0, 9, -20, 20)) }
            }
        }
        let sae = try SparseAutoencoder(
            inputDimension: d, featureCount: fB, encoderWeights: (0..<(d * fB)).map { Float(hashed($0, 6, -1, 1)) },
            encoderBias: (0..<fB).map { Float(hashed($0, 7, -2, 0)) },
            decoderWeights: decoder, decoderBias: [Float](repeating: 0, count: d), rule: .relu, subtractsDecoderBias: false,
            provenance: DictionaryProvenance(library: "fixture", kind: "TopKFixture", weightsPath: "fixture-b/ae.pt", configPath: nil))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-app-fixture")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return DictionarySession(saePath: "fixture-b/ae.pt", sae: sae, cachePath: a.cachePath, cache: a.cache,
                                 tokenizer: a.tokenizer, indexPath: folder.appendingPathComponent("fixture-b.index.safetensors").path)
    }

    /// A controller over the fixture with B attached and everything computed: A's and B's
    /// indexes, the matching, and (started by the first frame) the pairs' exemplar overlap.
    /// `start: true` opens the compare screen as `open --sae2` does.
    static func comparingController(start: Bool = true) throws -> AppController {
        let app = try controller()
        app.attachComparison(try secondSession(alongside: app.session), indexState: .needsBuild(reason: "test"), start: start)
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 60))
        app.handleJobEvents()
        _ = app.frame(width: 80, height: 24)
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 60))
        app.handleJobEvents()
        return app
    }
}
