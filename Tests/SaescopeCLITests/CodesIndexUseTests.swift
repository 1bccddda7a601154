import XCTest
import SAECore

/// What a researcher does after `index --codes`: reads its summary, exports it with a dictionary,
/// opens it. Each step says what applies to an index of a latent cache (no activations, maybe no
/// dictionary) instead of what applies to an index of activations.
final class CodesIndexUseTests: XCTestCase {
    let fixtures = SaescopeBinary.fixtures
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-codes-use-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    private func fixture(_ relative: String) -> String { fixtures.appendingPathComponent(relative).path }

    private func codesIndex(withDictionary: Bool) throws -> (path: String, summary: String) {
        let out = scratch.appendingPathComponent(withDictionary ? "with-sae.safetensors" : "codes.safetensors").path
        let result = try SaescopeBinary.run(["index", "--codes", fixture("delphi/run"), "--out", out]
                                            + (withDictionary ? ["--sae", fixture("delphi/dictionary")] : []))
        XCTAssertEqual(result.status, 0, result.stderr)
        return (out, result.stdout)
    }

    /// The rows line offered --exclude-special, which --codes refuses (exit 64).
    func testSummaryDoesNotOfferAnOptionCodesRefuse() throws {
        let summary = try codesIndex(withDictionary: false).summary
        XCTAssertTrue(summary.contains("rows: 384 rows of the latent cache\n"), summary)
        XCTAssertFalse(summary.contains("--exclude-special"), summary)
    }

    /// An index built without a dictionary has no weights to be stale against: exporting it with
    /// the dictionary warned "the dictionary ... changed since the index was built".
    func testExportWithADictionaryOfACodesOnlyIndexIsNotCalledStale() throws {
        let index = try codesIndex(withDictionary: false).path
        let out = scratch.appendingPathComponent("f.jsonl").path
        let result = try SaescopeBinary.run(["export", "--sae", fixture("delphi/dictionary"), "--index", index, "--features", "0-2", "--out", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stderr.contains("stale"), result.stderr)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").count, 3)
    }

    /// `open --index FILE` alone used the bundled sample's dictionary (a width mismatch) or, away
    /// from the repository, said the samples were not found: now a usage error saying what to give.
    func testOpenWithAnIndexAndNoDictionarySaysWhichToGive() throws {
        let bare = try codesIndex(withDictionary: false).path
        let a = try SaescopeBinary.run(["open", "--index", bare])
        XCTAssertEqual(a.status, 64, a.stderr)
        XCTAssertTrue(a.stderr.contains("--index needs --sae") && a.stderr.contains("latent cache without a dictionary"), a.stderr)
        let recorded = try codesIndex(withDictionary: true).path
        let b = try SaescopeBinary.run(["open", "--index", recorded])
        XCTAssertEqual(b.status, 64, b.stderr)
        let dictionary = try IndexFile.read(path: recorded).provenance.saePath
        XCTAssertFalse(dictionary.isEmpty)
        XCTAssertTrue(b.stderr.contains("--sae \(dictionary)") && !b.stderr.contains("--acts"), b.stderr)
    }
}
