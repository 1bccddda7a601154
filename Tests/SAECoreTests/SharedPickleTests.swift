import Foundation
import XCTest
import TestSupport
@testable import SAECore

/// Item 5 of issue #13: objects a pickle shares through its memo stay shared, and what one file
/// may build is bounded by its own size.
final class SharedPickleTests: XCTestCase {
    /// `{"w": T}` with T a stride-0 view of one float expanded to `rows x 1024` (a legal torch
    /// tensor whose copy is `rows` * 4 KiB), then `levels` dicts each holding the previous one
    /// twice through the memo: 2^levels names for the one tensor, in a file of about a kilobyte.
    static func memoBomb(levels: Int, rows: Int = 4096, keyLength: Int = 1) -> [UInt8] {
        MemoBomb.sharedDict(levels: levels, keyLength: keyLength, leaf: .stridedTensor(rows: rows))
    }

    func parse(_ bytes: [UInt8]) throws -> TensorDictionary {
        try TorchCheckpoint.parse(ByteBuffer(copying: bytes), source: "bomb.pt")
    }

    func testSharedTensorIsBuiltOnceUnderEveryName() throws {
        let dictionary = try parse(Self.memoBomb(levels: 3, rows: 2))
        XCTAssertEqual(dictionary.tensors.count, 8)
        let buffers = Set(dictionary.tensors.values.map { ObjectIdentifier($0.buffer) })
        XCTAssertEqual(buffers.count, 1, "one strided copy shared by every name")
        let first = try XCTUnwrap(dictionary.tensors["a.a.a.w"])
        XCTAssertEqual(first.shape, [2, 1024])
        XCTAssertEqual(first.floats().first, 1)
    }

    func testMemoBombIsRefusedQuicklyNamingTheFile() throws {
        for (levels, keyLength) in [(24, 1), (20, 200), (40, 1)] {
            let bytes = Self.memoBomb(levels: levels, keyLength: keyLength)
            XCTAssertLessThan(bytes.count, 16_384)
            let started = Date()
            XCTAssertThrowsError(try parse(bytes)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("bomb.pt: "), text)
                XCTAssertFalse(text.contains("\n"))
            }
            XCTAssertLessThan(Date().timeIntervalSince(started), 20, "levels \(levels)")
        }
    }

    func testBudgetScalesWithTheFileSize() {
        var budget = MaterialisationBudget(fileSize: 1000)
        XCTAssertEqual(budget.limit, 4000 + (32 << 20))
        XCTAssertNoThrow(try budget.charge(4000 + (32 << 20), for: "x"))
        XCTAssertThrowsError(try budget.charge(1, for: "y"))
        XCTAssertEqual(MaterialisationBudget(fileSize: Int.max).limit, Int.max)
    }

    func testQuotedTextIsCappedAndOneLine() {
        let long = String(repeating: "x", count: 5000) + "\n"
        let quoted = Quoted.text("a\nb" + long)
        XCTAssertFalse(quoted.contains("\n"))
        XCTAssertLessThan(quoted.count, 260)
        let error = SaescopeError(String(repeating: "y\n", count: 40_000), file: "f")
        XCTAssertFalse(error.description.contains("\n"))
        XCTAssertLessThan(error.description.count, SaescopeError.maximumMessageLength + 40)
    }
}
