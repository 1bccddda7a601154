import Foundation
import SAECore
import TUI
import XCTest
@testable import App

/// The labelling keys (L label, E notes, T tags, R status), the filters and `/` over labels,
/// marks kept in the labels database (and taken over from the old marks files), and a database
/// that cannot be written.
final class LabelEditingTests: XCTestCase {
    private var folder: URL!

    override func setUp() { folder = AppFixture.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: folder) }

    private var databasePath: String { folder.appendingPathComponent("labels.sqlite").path }

    /// A controller on the fixture with the labels database in the test's folder.
    private func controller(fingerprint: String = "1-00000000000000aa", marksFile: MarksStore? = nil) throws -> AppController {
        let app = try AppFixture.controller()
        let path = databasePath
        app.attachLabels({ try LabelStore(path: path, fingerprint: fingerprint) }, marksFile: marksFile)
        // The labels are read by a background job.
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 30))
        app.handleJobEvents()
        return app
    }

    func testLabelNotesTagsAndStatusAreStoredAndShown() throws {
        let app = try controller()
        app.press(.char("j"))  // feature 1
        app.press(.char("L"))
        XCTAssertEqual(app.model.prompt?.kind, .label(1))
        app.type("names in dialogue\n")
        app.press(.char("T"))
        app.type("#names, dialogue\n")
        app.press(.char("R"), .char("R"))
        app.press(.char("E"))
        XCTAssertEqual(app.model.notesEditor?.feature, 1)
        app.type("counter-example:\n")
        app.press(.char("x"), .backspace)
        app.type("Mr. Darcy")
        app.press(.escape)
        XCTAssertNil(app.model.notesEditor)

        let expected = (label: "names in dialogue", tags: ["dialogue", "names"], status: LabelStatus.uninterpretable,
                        notes: "counter-example:\nMr. Darcy")
        let shown = try XCTUnwrap(app.model.labels[1])
        XCTAssertEqual(shown.label, expected.label)
        XCTAssertEqual(shown.tags, expected.tags)
        XCTAssertEqual(shown.status, expected.status)
        XCTAssertEqual(shown.notes, expected.notes)
        // As stored: a second connection reads the same record.
        let stored = try LabelStore(path: databasePath, fingerprint: "1-00000000000000aa").record(1)
        XCTAssertEqual(stored.label, expected.label)
        XCTAssertEqual(stored.tags, expected.tags)
        XCTAssertEqual(stored.status, expected.status)
        XCTAssertEqual(stored.notes, expected.notes)

        // The list shows a label column, the detail screen the label lines.
        let list = SnapshotText.of(app.frame(width: 160, height: 30), styles: false)
        XCTAssertTrue(list.contains("label"), list)
        XCTAssertTrue(list.contains("names in dialogue"), list)
        app.press(.enter)
        let detail = SnapshotText.of(app.frame(width: 160, height: 40), styles: false)
        XCTAssertTrue(detail.contains("label     names in dialogue"), detail)
        XCTAssertTrue(detail.contains("status    uninterpretable  #dialogue #names"), detail)
        XCTAssertTrue(detail.contains("notes     counter-example:  (+1 lines: E)"), detail)
    }

    func testEditingKeysSnapshots() throws {
        let app = try controller()
        app.press(.char("j"), .char("L"))
        app.type("names in dialogue")
        assertScreen(app, width: 80, height: 24, named: "label-prompt-80x24")
        app.press(.enter, .char("E"))
        app.type("first line\nsecond")
        assertScreen(app, width: 80, height: 24, named: "notes-editor-80x24")
        app.press(.ctrl("g"))
        XCTAssertEqual(app.model.labels[1]?.notes, "", "Ctrl-G drops the draft")
        XCTAssertEqual(app.model.message?.text, "notes of feature 1 left as they were")
    }

    func testStatusAndTagFiltersAndSearchOverLabels() throws {
        let app = try controller()
        app.press(.char("j"), .char("L"))
        app.type("zebra crossing\n")
        app.press(.char("T"))
        app.type("roads\n")
        app.press(.char("G"), .char("R"))
        let last = try XCTUnwrap(app.model.selectedFeature)
        XCTAssertEqual(app.model.labels[last]?.status, .interpretable)

        app.runCommandLine("status interpretable")
        XCTAssertEqual(app.model.list.rows, [last])
        app.runCommandLine("status all")
        app.runCommandLine("tag #roads")
        XCTAssertEqual(app.model.list.rows, [1])
        XCTAssertEqual(app.model.list.filter.summary, "#roads")
        app.runCommandLine("tag")
        XCTAssertEqual(app.model.list.rows.count, app.session.sae.featureCount)
        app.runCommandLine("status maybe")
        XCTAssertEqual(app.model.message?.isError, true)

        // `/` finds the label (no exemplar holds "zebra").
        app.press(.char("/"))
        app.type("ZEBRA\n")
        XCTAssertEqual(app.model.list.searchHits, [1])
        XCTAssertEqual(app.model.selectedFeature, 1)

        app.press(.char("o"))
        let overview = SnapshotText.of(app.frame(width: 120, height: 40), styles: false)
        XCTAssertTrue(overview.contains("1 of 16 reviewed, 1 labelled"), overview)
    }

    func testMarksAreKeptInTheDatabaseAndOldMarksFilesAreTakenOver() throws {
        let weights = folder.appendingPathComponent("ae.pt")
        try Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: weights)
        let fingerprint = try XCTUnwrap(ContentFingerprint.of(file: weights.path))
        // A marks file from before the database.
        let old = MarksStore(directory: folder.appendingPathComponent("marks").path, fingerprint: fingerprint)
        try old.save([2, 3], dictionary: weights.path)

        let first = try controller(fingerprint: fingerprint, marksFile: old)
        XCTAssertEqual(first.model.marks, [2, 3])
        XCTAssertTrue(first.model.message?.text.hasPrefix("moved 2 marks from \(old.path) into \(databasePath)") ?? false,
                      first.model.message?.text ?? "")
        XCTAssertFalse(FileManager.default.fileExists(atPath: old.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: old.path + ".migrated"))
        first.press(.char("j"), .char(" "))
        XCTAssertEqual(first.model.marks, [1, 2, 3])
        first.press(.char("q"))
        XCTAssertEqual(first.model.prompt?.kind, .confirmQuit("quit with 3 marked features (kept for the next launch)? (y/n) "))

        // The next launch (the same weights' fingerprint) finds them; the old file is not read again.
        let second = try controller(fingerprint: fingerprint, marksFile: old)
        XCTAssertEqual(second.model.marks, [1, 2, 3])
        XCTAssertEqual(second.model.message?.text, "3 marked features from the last session (u clears)")
        second.press(.char("u"))
        XCTAssertEqual(try LabelStore(path: databasePath, fingerprint: fingerprint).marks(), [])
        // Another dictionary has its own.
        XCTAssertEqual(try LabelStore(path: databasePath, fingerprint: "9-0000000000000000").marks(), [])
    }

    func testADamagedDatabaseLeavesTheInterfaceReadOnly() throws {
        try Data("this is not a database, just text long enough to fill a header.....................................".utf8)
            .write(to: URL(fileURLWithPath: databasePath))
        let app = try controller()
        XCTAssertEqual(app.model.message?.isError, true)
        let message = app.model.message?.text ?? ""
        XCTAssertTrue(message.hasPrefix("labels are read-only: \(databasePath): the labels database is damaged or not an SQLite database"), message)
        XCTAssertNotNil(app.model.labelsReadOnly)
        // Browsing goes on; editing says why it cannot.
        app.press(.char("j"), .enter)
        XCTAssertEqual(app.model.screen, .detail)
        app.press(.char("L"))
        XCTAssertNil(app.model.prompt)
        XCTAssertTrue(app.model.message?.text.hasPrefix("labels are read-only") ?? false)
    }

    func testALockedDatabaseTurnsTheInterfaceReadOnlyAtTheWrite() throws {
        let app = try AppFixture.controller()
        let path = databasePath
        app.attachLabels({ try LabelStore(path: path, fingerprint: "1-00000000000000aa", busyTimeout: 100) }, marksFile: nil)
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 30))
        app.handleJobEvents()
        // Another connection holds the write lock.
        let other = try SQLiteDatabase(path: path)
        try other.execute("BEGIN IMMEDIATE")
        defer { try? other.execute("ROLLBACK") }
        app.press(.char("L"))
        app.type("blocked\n")
        XCTAssertTrue(app.model.message?.text.contains("locked by another process") ?? false, app.model.message?.text ?? "")
        XCTAssertNotNil(app.model.labelsReadOnly)
        XCTAssertNil(app.model.labels[0], "nothing is shown as saved that was not")
    }

    func testLabelsReadInTheBackgroundMergeUnderEditsMadeMeanwhile() throws {
        let path = databasePath
        do {
            let store = try LabelStore(path: path, fingerprint: "1-00000000000000aa")
            try store.apply(.init(label: "saved before"), to: 4)
            try store.apply(.init(label: "old label"), to: 1)
        }
        let app = try AppFixture.controller()
        app.attachLabels({ try LabelStore(path: path, fingerprint: "1-00000000000000aa") }, marksFile: nil)
        // Before the job's result is taken: an edit of feature 1.
        app.press(.char("j"), .char("L"), .ctrl("u"))
        app.type("new label\n")
        XCTAssertEqual(app.model.labels[1]?.label, "new label")
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 30))
        app.handleJobEvents()
        XCTAssertEqual(app.model.labels[4]?.label, "saved before")
        XCTAssertEqual(app.model.labels[1]?.label, "new label", "the edit made while reading wins")
    }
}
