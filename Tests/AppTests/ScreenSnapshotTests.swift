import App
import TUI
import XCTest

/// Every screen at 80x24 and 160x48 against golden text (`SAESCOPE_RECORD=1` rewrites them).
final class ScreenSnapshotTests: XCTestCase {
    func testFeaturesScreen() throws {
        let app = try AppFixture.controller()
        app.press(.down, .char(" "))
        assertScreen(app, width: 80, height: 24, named: "features-80x24")
        assertScreen(app, width: 160, height: 48, named: "features-160x48")
    }

    func testDetailScreen() throws {
        let app = try AppFixture.controller()
        app.type(":3\n")
        assertScreen(app, width: 80, height: 24, named: "detail-80x24")
        assertScreen(app, width: 160, height: 48, named: "detail-160x48")
    }

    func testOverviewScreen() throws {
        let app = try AppFixture.controller()
        app.press(.char("o"))
        // With the weight cosines (the core metrics' cosine rows) computed.
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 60))
        app.handleJobEvents()
        assertScreen(app, width: 80, height: 24, named: "overview-80x24")
        assertScreen(app, width: 160, height: 48, named: "overview-160x48")
    }

    func testJobsScreen() throws {
        let app = try AppFixture.controller()
        app.press(.char("J"))
        // Times vary: blank the time column by checking the rest of the screen.
        let text = app.frame(width: 80, height: 24).render().joined(separator: "\n")
        XCTAssertTrue(text.contains("index fixture over"))
        XCTAssertTrue(text.contains("done"))
    }

    func testHelpAndTooSmall() throws {
        let app = try AppFixture.controller()
        app.press(.char("?"))
        assertScreen(app, width: 80, height: 24, named: "help-80x24")
        assertScreen(app, width: 40, height: 10, named: "too-small-40x10")
    }
}
