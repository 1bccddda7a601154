import XCTest
@testable import SAECore

final class SafetensorsTests: XCTestCase {
    func testRoundTripKeepsValuesShapesAndMetadata() throws {
        let values: [Float] = [1, -2.5, 3.25, 4, 5, 6]
        let bytes = try Safetensors.serialize(
            [.init(name: "w", floats: values, shape: [2, 3]), .init(name: "ids", int64s: [7, 8], shape: [2])],
            metadata: ["model": "tiny"])
        let parsed = try Safetensors.parse(ByteBuffer(copying: bytes), source: "mem")
        XCTAssertEqual(try parsed.require("w").floats(), values)
        XCTAssertEqual(try parsed.require("w").shape, [2, 3])
        XCTAssertEqual(try parsed.require("ids").int64s(), [7, 8])
        XCTAssertEqual(parsed.metadata["model"], "tiny")
    }

    func testOffsetsOutsideTheFileAreRefused() throws {
        let header = #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) }
        bytes += Array(header.utf8) + [0, 0, 0, 0]  // only 4 of 16 data bytes
        XCTAssertThrowsError(try Safetensors.parse(ByteBuffer(copying: bytes), source: "short.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("outside the data section"), "\(error)")
        }
    }

    func testHeaderLengthPastEndIsRefused() {
        let bytes = withUnsafeBytes(of: UInt64(1_000).littleEndian) { Array($0) } + Array("{}".utf8)
        XCTAssertThrowsError(try Safetensors.parse(ByteBuffer(copying: bytes), source: "x"))
    }
}
