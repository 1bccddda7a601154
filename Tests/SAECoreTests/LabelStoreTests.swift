import Foundation
import XCTest
@testable import SAECore

/// The labels database: a round trip of every field, per-field edits from two connections,
/// migrations from version 1, and a database from a newer saescope refused.
final class LabelStoreTests: XCTestCase {
    private var folder: URL!
    private var path: String { folder.appendingPathComponent("labels.sqlite").path }

    override func setUp() {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-labelstore-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: folder) }

    func testRoundTrip() throws {
        let time = Date(timeIntervalSince1970: 1_700_000_000)
        do {
            let store = try LabelStore(path: path, fingerprint: "100-aa")
            try store.apply(.init(label: "names in dialogue", notes: "line one\nline \"two\"", status: .interpretable, tags: ["names", "dialogue"]),
                            to: 1439, author: "alice", now: time)
            XCTAssertEqual(try store.addExplanations([(1439, FeatureExplanation(source: "neuronpedia", model: "gpt-4o-mini", text: "proper nouns", score: 0.75)),
                                                      (7, FeatureExplanation(source: "delphi", text: "commas"))], now: time), 2)
            try store.updateMarks(adding: [3, 1439], removing: [])
            // Another dictionary's records stay apart.
            try LabelStore(path: path, fingerprint: "200-bb").apply(.init(label: "other"), to: 1439)
        }
        let store = try LabelStore(path: path, fingerprint: "100-aa")
        let book = try store.load()
        XCTAssertEqual(book.features.count, 2)
        XCTAssertEqual(book[1439], FeatureLabel(label: "names in dialogue", notes: "line one\nline \"two\"", tags: ["dialogue", "names"],
                                                status: .interpretable, author: "alice", updatedAt: 1_700_000_000,
                                                explanations: [FeatureExplanation(source: "neuronpedia", model: "gpt-4o-mini", text: "proper nouns", score: 0.75)]))
        XCTAssertEqual(book[7]?.explanations, [FeatureExplanation(source: "delphi", text: "commas")])
        XCTAssertEqual(book[7]?.status, .unreviewed)
        XCTAssertEqual(book.reviewedCount, 1)
        XCTAssertEqual(book.labelledCount, 1)
        XCTAssertEqual(try store.marks(), [3, 1439])
        XCTAssertEqual(try store.record(1439), book[1439])
        XCTAssertEqual(try LabelStore(path: path, fingerprint: "200-bb").load()[1439]?.label, "other")
        XCTAssertEqual(try store.database.scalar("PRAGMA journal_mode")?.string, "wal")
        XCTAssertEqual(try store.database.userVersion, LabelSchema.latestVersion)
        // The same explanation again: not new; its score follows the latest import.
        XCTAssertEqual(try store.addExplanations([(1439, FeatureExplanation(source: "neuronpedia", model: "gpt-4o-mini", text: "proper nouns", score: 0.9))]), 0)
        XCTAssertEqual(try store.record(1439).explanations.first?.score, 0.9)
    }

    func testEditsFromTwoConnectionsKeepEachOthersFields() throws {
        let a = try LabelStore(path: path, fingerprint: "100-aa")
        let b = try LabelStore(path: path, fingerprint: "100-aa")
        try a.apply(.init(label: "from a"), to: 5)
        let afterB = try b.apply(.init(status: .dead), to: 5)
        XCTAssertEqual(afterB.label, "from a", "b's edit returns the record with a's label")
        XCTAssertEqual(afterB.status, .dead)
        try a.updateMarks(adding: [1], removing: [])
        try b.updateMarks(adding: [2], removing: [])
        try a.updateMarks(adding: [], removing: [1])
        XCTAssertEqual(try b.marks(), [2])
    }

    func testMigrationFromVersion1KeepsTheRecords() throws {
        do {
            // A database as the first schema left it, with a label and a tag in it.
            let old = try LabelStore(path: path, fingerprint: "100-aa", schemaVersion: 1)
            XCTAssertEqual(try old.database.userVersion, 1)
            try old.database.execute("""
                INSERT INTO label (dictionary, feature, label, notes, status, author, updated_at)
                    VALUES ('100-aa', 12, 'quotes', 'kept', 'interpretable', 'bob', 1600000000);
                INSERT INTO tag (dictionary, feature, name) VALUES ('100-aa', 12, 'punctuation');
                """)
            XCTAssertThrowsError(try old.database.execute("SELECT * FROM explanation"), "version 1 has no explanation table")
        }
        let store = try LabelStore(path: path, fingerprint: "100-aa")
        XCTAssertEqual(try store.database.userVersion, 2)
        XCTAssertEqual(try store.record(12), FeatureLabel(label: "quotes", notes: "kept", tags: ["punctuation"], status: .interpretable,
                                                          author: "bob", updatedAt: 1_600_000_000))
        XCTAssertEqual(try store.addExplanations([(12, FeatureExplanation(source: "delphi", text: "quotation marks"))]), 1)
        try store.updateMarks(adding: [12], removing: [])
        XCTAssertEqual(try store.marks(), [12])
    }

    func testANewerDatabaseIsRefusedWithAClearMessage() throws {
        do {
            let db = try SQLiteDatabase(path: path)
            try db.execute("PRAGMA user_version = 99")
        }
        XCTAssertThrowsError(try LabelStore(path: path, fingerprint: "1-a")) { error in
            XCTAssertEqual(String(describing: error),
                           "\(path): the labels database is at schema version 99, newer than this saescope knows (2); update saescope")
        }
    }

    func testADamagedFileIsAClearMessage() throws {
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try LabelStore(path: path, fingerprint: "1-a")) { error in
            XCTAssertTrue(String(describing: error).hasPrefix("\(path): the labels database is damaged or not an SQLite database"), "\(error)")
        }
    }

    func testTagsFromTypedText() {
        XCTAssertEqual(FeatureLabel.tags(from: " #names, dialogue  names\t#x "), ["dialogue", "names", "x"])
        XCTAssertEqual(LabelStatus.dead.next, .unreviewed)
    }
}
