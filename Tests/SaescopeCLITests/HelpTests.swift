import XCTest

final class HelpTests: XCTestCase {
    func testBinaryRunsAndNamesItself() throws {
        let result = try SaescopeBinary.run(["--help"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("saescope"), result.stdout)
    }

    /// The options #20's formats brought, as a new user reads them: where targets come from (not
    /// saescope's own export), which folders --codes takes, what open's --sae reads, how a --codes
    /// index is opened. Help lines wrap, so words are looked for with whitespace collapsed.
    func testNewFormatOptionsSayWhatToGive() throws {
        func help(_ command: String) throws -> String {
            let result = try SaescopeBinary.run([command, "--help"])
            XCTAssertEqual(result.status, 0, result.stderr)
            return result.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        }
        let eval = try help("eval"), index = try help("index"), open = try help("open")
        XCTAssertTrue(eval.contains("tools/export_activations.py writes with --target-module NAME or --target-layer L"), eval)
        XCTAssertTrue(index.contains("or the run or latents/ folder when it holds one hookpoint"), index)
        XCTAssertTrue(index.contains("saescope open --sae DICTIONARY --index FILE"), index)
        XCTAssertTrue(open.contains("a Gemma Scope params.npz") && open.contains("transcoders too"), open)
        XCTAssertTrue(open.contains("an index from index --codes opens with --sae and no --acts"), open)
    }
}

/// The README's key table is `saescope keys` verbatim, so it cannot drift from the keymaps.
final class ReadmeKeysTests: XCTestCase {
    func testReadmeShowsTheCurrentKeyBindings() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let keys = try SaescopeBinary.run(["keys"])
        XCTAssertEqual(keys.status, 0)
        XCTAssertTrue(text.contains(keys.stdout.trimmingCharacters(in: .newlines)),
                      "README.md's key bindings are out of date: paste the output of `saescope keys` into it")
    }
}
