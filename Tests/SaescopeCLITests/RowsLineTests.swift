import XCTest
import SAECore

/// The `rows` line of eval and index offers --exclude-special only where it could run: a cache
/// whose metadata names no special token ids (a Gemma Scope user's own cache, say) got the offer
/// and then "--exclude-special needs the special token ids ... this cache names none".
final class RowsLineTests: XCTestCase {
    func testACacheWithoutSpecialIdsIsNotOfferedTheExclusion() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-rows-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cache = scratch.appendingPathComponent("acts.safetensors").path
        var generator = SystemRandomNumberGenerator()
        try Safetensors.write([.init(name: "acts", floats: (0..<(32 * 16)).map { _ in Float.random(in: -2...2, using: &generator) }, shape: [32, 16])],
                              to: cache)
        let sae = SaescopeBinary.fixtures.appendingPathComponent("dictionaries/saelens_standard").path
        let eval = try SaescopeBinary.run(["eval", "--sae", sae, "--acts", cache, "--no-weight-cosines"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        XCTAssertTrue(eval.stdout.contains("rows         32 rows (the cache names no special token ids, so none are left out)"), eval.stdout)
        XCTAssertFalse(eval.stdout.contains("--exclude-special"), eval.stdout)
        let index = try SaescopeBinary.run(["index", "--sae", sae, "--acts", cache, "--out", scratch.appendingPathComponent("i.safetensors").path])
        XCTAssertEqual(index.status, 0, index.stderr)
        XCTAssertTrue(index.stdout.contains("rows: 32 rows (the cache names no special token ids, so none are left out)"), index.stdout)
        // A cache that names them keeps the offer.
        let named = try SaescopeBinary.run(["eval", "--sae", sae, "--no-weight-cosines",
                                            "--acts", SaescopeBinary.fixtures.appendingPathComponent("caches/tiny_targets_d16.safetensors").path])
        XCTAssertTrue(named.stdout.contains("special tokens included (--exclude-special leaves them out)"), named.stdout)
    }
}
