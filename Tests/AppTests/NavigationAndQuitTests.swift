import App
import Foundation
import SAECore
import TUI
import XCTest

/// Tabs and drill-downs, and quitting: the top-level screens are tabs (no history, q quits),
/// drill-downs go back with q or Esc, and quitting asks first when something is at stake.
final class NavigationAndQuitTests: XCTestCase {
    func testTabsKeepNoHistoryAndOneQOnATabQuits() throws {
        let app = try AppFixture.controller()
        app.press(.char("o"), .char("J"), .char("p"), .char("F"), .char("o"))
        XCTAssertEqual(app.model.screen, .overview)
        XCTAssertEqual(app.model.previousScreens, [], "switching tabs pushes nothing")
        app.press(.char("q"))
        XCTAssertTrue(app.model.quit, "q on a tab quits at once")
    }

    func testEscOnATabSaysHowToQuitInsteadOfQuitting() throws {
        let app = try AppFixture.controller()
        app.press(.escape)
        XCTAssertFalse(app.model.quit)
        XCTAssertEqual(app.model.screen, .features)
        XCTAssertEqual(app.model.message?.text, "nothing to go back to on a tab: q quits, o J p F switch tabs")
        app.press(.char("J"), .escape)
        XCTAssertEqual(app.model.screen, .jobs, "Esc does not walk back through tabs either")
        XCTAssertFalse(app.model.quit)
    }

    func testDrillDownsGoBackWithQOrEscToWhereTheyWereOpened() throws {
        let app = try AppFixture.controller()
        app.press(.enter)
        XCTAssertEqual(app.model.screen, .detail)
        app.press(.escape)
        XCTAssertEqual(app.model.screen, .features)
        // Opened from the overview by number: back goes to the features tab it was opened in.
        app.press(.char("o"))
        app.type(":3\n")
        XCTAssertEqual(app.model.screen, .detail)
        app.press(.char("q"))
        XCTAssertEqual(app.model.screen, .features)
        XCTAssertFalse(app.model.quit)
        // Leaving a drill-down for a tab drops it: q there quits.
        app.press(.enter, .char("J"))
        XCTAssertEqual(app.model.previousScreens, [])
        app.press(.char("q"))
        XCTAssertTrue(app.model.quit)
    }

    func testHelpAndPromptsCloseBeforeAnythingQuits() throws {
        let app = try AppFixture.controller()
        app.press(.char("?"), .char("q"))
        XCTAssertFalse(app.model.showHelp)
        XCTAssertFalse(app.model.quit, "q closes help")
        app.press(.char(":"), .char("q"))
        XCTAssertEqual(app.model.prompt?.text, "q", "q is text in a prompt")
        app.press(.escape)
        XCTAssertNil(app.model.prompt)
        XCTAssertFalse(app.model.quit)
    }

    func testQuittingWithMarkedFeaturesAsksFirst() throws {
        let app = try AppFixture.controller()
        app.press(.char(" "), .char(" "), .char("q"))
        XCTAssertFalse(app.model.quit)
        XCTAssertEqual(app.model.prompt?.kind, .confirmQuit("quit with 2 marked features (they are not saved)? (y/n) "))
        let text = app.frame(width: 80, height: 24).render().joined(separator: "\n")
        XCTAssertTrue(text.contains("quit with 2 marked features (they are not saved)? (y/n)"), text)
        app.press(.char("x"))
        XCTAssertNotNil(app.model.prompt, "only y or n answers")
        app.press(.char("n"))
        XCTAssertNil(app.model.prompt)
        XCTAssertFalse(app.model.quit)
        XCTAssertEqual(app.model.marks.count, 2)
        app.press(.ctrl("c"))
        XCTAssertNotNil(app.model.prompt, "Ctrl-C asks too")
        app.press(.ctrl("c"))
        XCTAssertTrue(app.model.quit, "and a second Ctrl-C quits")
    }

    func testQuittingWithAnExportStillWritingAsksFirst() throws {
        let app = try AppFixture.controller()
        let writing = app.jobs.start(kind: "export", title: "export 1 features to x.md") { context in
            while !context.isCancelled { Thread.sleep(forTimeInterval: 0.001) }
            throw SaescopeError("cancelled")
        }
        defer { app.jobs.cancel(writing); _ = app.jobs.waitUntilIdle(timeout: 10) }
        app.press(.char("q"))
        XCTAssertEqual(app.model.prompt?.kind, .confirmQuit("quit with an export still writing (it is cancelled)? (y/n) "))
        app.press(.char("y"))
        XCTAssertTrue(app.model.quit)
    }
}
