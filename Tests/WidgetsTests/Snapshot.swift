import Foundation
import TUI
import XCTest

/// Golden-text snapshots in `Tests/WidgetsTests/Snapshots/<name>.txt` (see `SnapshotText`).
/// On mismatch the test fails with a line diff; with `SAESCOPE_RECORD=1` the golden file is
/// (re)written and the test passes.
func assertSnapshot(_ buffer: Buffer, named name: String, styles: Bool = false,
                    file: StaticString = #filePath, line: UInt = #line) {
    let path = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Snapshots/\(name).txt").path
    let record = ProcessInfo.processInfo.environment["SAESCOPE_RECORD"] == "1"
    if let failure = SnapshotText.check(snapshotText(buffer, styles: styles), goldenPath: path, record: record) {
        XCTFail(failure, file: file, line: line)
    }
}

func snapshotText(_ buffer: Buffer, styles: Bool) -> String { SnapshotText.of(buffer, styles: styles) }

/// A deterministic generator for fixture data (no platform RNG, no libm).
struct LCG {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 6364136223846793005 &+ 1442695040888963407 }
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 11
    }
    /// Uniform in [0, 1).
    mutating func uniform() -> Double { Double(next() % (1 << 52)) / Double(1 << 52) }
    /// Approximately standard normal (Irwin-Hall sum of 12 uniforms).
    mutating func normal() -> Double {
        var s = 0.0
        for _ in 0..<12 { s += uniform() }
        return s - 6
    }
}
