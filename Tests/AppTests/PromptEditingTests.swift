import App
import Foundation
import SAECore
import TUI
import XCTest

/// The one-line prompt edits at a cursor and remembers what was submitted, in every prompt.
final class PromptEditingTests: XCTestCase {
    func testCursorKeysEditInTheMiddleOfTheLine() throws {
        let app = try AppFixture.controller()
        app.type(":sort mean")
        app.press(.home, .right, .right, .right, .right, .char("X"))
        XCTAssertEqual(app.model.prompt?.text, "sortX mean")
        app.press(.backspace)
        XCTAssertEqual(app.model.prompt?.text, "sort mean")
        app.press(.delete)
        XCTAssertEqual(app.model.prompt?.text, "sortmean", "Delete removes the character under the cursor")
        app.press(.char(" "), .end, .char(" "), .char("d"), .char("e"), .char("s"), .char("c"))
        XCTAssertEqual(app.model.prompt?.text, "sort mean desc")
        // Drawn with the cursor block on the character under it.
        app.press(.left, .left, .left, .left)
        let line = app.frame(width: 80, height: 24).render()[22]
        XCTAssertTrue(line.hasPrefix(":sort mean desc"), line)
        app.press(.enter)
        XCTAssertEqual(app.model.list.sort, .mean)
        XCTAssertFalse(app.model.list.ascending)
    }

    func testLineEditingKeysOfAShell() {
        var prompt = Prompt(kind: .command, text: "export md out/file.md")
        prompt.deleteWordBackward()
        XCTAssertEqual(prompt.text, "export md ")
        prompt.moveCursorToStart()
        prompt.moveCursor(by: 6)
        prompt.deleteToEnd()
        XCTAssertEqual(prompt.text, "export")
        prompt.moveCursor(by: -3)
        prompt.deleteToStart()
        XCTAssertEqual(prompt.text, "ort")
        XCTAssertEqual(prompt.cursor, 0)
        prompt.moveCursor(by: 99)
        XCTAssertEqual(prompt.cursor, 3, "the cursor stays within the text")
        XCTAssertEqual(prompt.cursorSplit.before, "ort")
        XCTAssertEqual(prompt.cursorSplit.under, "")
    }

    func testUpAndDownRecallEarlierLinesOfTheSameKindOfPrompt() throws {
        let app = try AppFixture.controller()
        app.type(":filter dead\n")
        app.type(":filter all\n")
        app.type("/darcy\n")
        app.type(":sor")
        app.press(.up)
        XCTAssertEqual(app.model.prompt?.text, "filter all")
        app.press(.up)
        XCTAssertEqual(app.model.prompt?.text, "filter dead")
        app.press(.up)
        XCTAssertEqual(app.model.prompt?.text, "filter dead", "the oldest line stays")
        app.press(.down, .down)
        XCTAssertEqual(app.model.prompt?.text, "sor", "past the newest, the line being typed comes back")
        app.press(.escape)
        app.press(.char("/"), .up)
        XCTAssertEqual(app.model.prompt?.text, "darcy", "each kind of prompt has its own history")
        app.press(.escape)
    }

    func testTheExportPromptRemembersTheFolderAndNamesItsOwnForceWord() throws {
        let app = try AppFixture.controller()
        let folder = AppFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        app.press(.char(" "), .char("e"))
        XCTAssertEqual(app.model.prompt?.text, "md saescope-features.md")
        app.press(.escape, .char("e"), .ctrl("u"))
        let out = folder.appendingPathComponent("marked.csv").path
        app.type("csv \(out)\n")
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 30))
        app.handleJobEvents()
        XCTAssertEqual(app.model.message?.text, "exported 1 features to \(out) (csv)")
        // The next export starts in the same folder.
        app.press(.char("e"))
        XCTAssertEqual(app.model.prompt?.text, "md \(folder.path)/saescope-features.md")
        // An existing file: the message names the word this prompt takes, not the CLI's --force.
        app.press(.ctrl("u"))
        app.type("csv \(out)\n")
        let refusal = try XCTUnwrap(app.model.message)
        XCTAssertTrue(refusal.isError)
        XCTAssertEqual(refusal.text, "\(out) exists already: add force to replace it (Up recalls the line)")
        XCTAssertFalse(refusal.text.contains("--force"))
        app.press(.char("e"), .up)
        XCTAssertEqual(app.model.prompt?.text, "csv \(out)")
        app.type(" force\n")
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 30))
        app.handleJobEvents()
        XCTAssertEqual(app.model.message?.text, "exported 1 features to \(out) (csv)")
    }
}
