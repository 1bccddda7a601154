import XCTest

final class HelpTests: XCTestCase {
    func testBinaryRunsAndNamesItself() throws {
        let result = try SaescopeBinary.run(["--help"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("saescope"), result.stdout)
    }
}
