import XCTest

final class HelpTests: XCTestCase {
    func testBinaryRunsAndNamesItself() throws {
        let result = try SaescopeBinary.run(["--help"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("saescope"), result.stdout)
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
