import XCTest
@testable import SAECore

/// Gemma Scope's two SAELens conventions on top of the plain archive.
final class GemmaScopeConventionTests: XCTestCase {
    func testEmbeddingFolderRescalesAsSAELensDoes() throws {
        let plain = try DictionaryLoader.load(path: Fixtures.path("dictionaries/gemma_scope_f32"))
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let embedding = directory.appendingPathComponent("embedding/width_48")
        try FileManager.default.createDirectory(at: embedding, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("dictionaries/gemma_scope_f32/params.npz"),
                                         toPath: embedding.appendingPathComponent("params.npz").path)
        let scaled = try DictionaryLoader.load(path: embedding.path)
        let root = Float(4)  // sqrt(16)
        for i in 0..<plain.encoderWeights.count { XCTAssertEqual(scaled.encoderWeights[i], plain.encoderWeights[i] / root, accuracy: 1e-7) }
        for i in 0..<plain.decoderWeights.count { XCTAssertEqual(scaled.decoderWeights[i], plain.decoderWeights[i] * root, accuracy: 1e-6) }
    }
}
