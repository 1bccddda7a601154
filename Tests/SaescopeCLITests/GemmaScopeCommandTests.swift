import XCTest

/// Gemma Scope `params.npz` as a user passes it: the folder or the file itself evaluates; a
/// missing tensor or a contradicting shape is one line naming the file, exit 2.
final class GemmaScopeCommandTests: XCTestCase {
    let fixtures = SaescopeBinary.fixtures

    private func fixture(_ relative: String) -> String { fixtures.appendingPathComponent(relative).path }

    func testFolderAndFileGiveTheSameNumbers() throws {
        let cache = fixture("caches/tiny_f32.safetensors")
        let folder = try SaescopeBinary.run(["eval", "--sae", fixture("dictionaries/gemma_scope_f32"), "--acts", cache, "--json"])
        XCTAssertEqual(folder.status, 0, folder.stderr)
        let file = try SaescopeBinary.run(["eval", "--sae", fixture("dictionaries/gemma_scope_f32/params.npz"), "--acts", cache, "--json"])
        XCTAssertEqual(file.status, 0, file.stderr)
        let a = try JSONSerialization.jsonObject(with: Data(folder.stdout.utf8)) as? [String: Any]
        let b = try JSONSerialization.jsonObject(with: Data(file.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(a?["l0"] as? Double, b?["l0"] as? Double)
        XCTAssertNotNil(a?["l0"] as? Double, folder.stdout)
    }

    func testBadArchivesAreOneLineExitTwo() throws {
        let cache = fixture("caches/tiny_f32.safetensors")
        let cases: [(String, [String])] = [
            ("dictionaries/gemma_scope_bad/missing_threshold", ["params.npz", "missing tensor 'threshold'"]),
            ("dictionaries/gemma_scope_bad/wrong_shape/params.npz", ["params.npz", "'W_dec' has shape [47, 16], expected [48, 16]"]),
            ("dictionaries/gemma_scope_bad/finetuning_scaling_factor", ["params.npz", "scaling_factor other than ones"]),
            ("caches/tiny_f32.safetensors", []),
        ]
        for (path, fragments) in cases {
            let result = try SaescopeBinary.run(["eval", "--sae", fixture(path), "--acts", cache])
            XCTAssertEqual(result.status, 2, "\(path): \(result.stderr)")
            XCTAssertEqual(result.stdout, "", path)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            for fragment in fragments {
                XCTAssertTrue(result.stderr.contains(fragment), "'\(fragment)' missing from: \(result.stderr)")
            }
        }
        // A truncated archive: one line, exit 2, never a crash.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gemma-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let whole = try Data(contentsOf: URL(fileURLWithPath: fixture("dictionaries/gemma_scope_f32/params.npz")))
        let truncated = scratch.appendingPathComponent("params.npz")
        try whole.prefix(whole.count / 2).write(to: truncated)
        let result = try SaescopeBinary.run(["eval", "--sae", truncated.path, "--acts", cache])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains(truncated.path), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }

    /// A folder holding no dictionary (say, a Gemma Scope width folder above the release's
    /// average_l0_N folders): one line listing what each library's folder holds.
    func testFolderWithoutADictionaryListsWhatEachLibraryHolds() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gemma-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let result = try SaescopeBinary.run(["inspect", scratch.path])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("sae_weights.safetensors (SAELens), cfg.json + sae.safetensors (sparsify) or params.npz (Gemma Scope)"),
                      result.stderr)
    }
}
