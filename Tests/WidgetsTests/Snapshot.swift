import Foundation
import TUI
import XCTest

/// Golden-text snapshots in `Tests/WidgetsTests/Snapshots/<name>.txt`.
///
/// The buffer's text is framed (`+---+`, `|...|`) so trailing spaces and the buffer's edge are
/// visible; with `styles: true` a style map follows (one letter per cell, see
/// `Buffer.renderStyles`) with its legend. On mismatch the test fails with a line diff. With
/// `SAESCOPE_RECORD=1` in the environment the golden file is (re)written and the test passes.
func assertSnapshot(_ buffer: Buffer, named name: String, styles: Bool = false,
                    file: StaticString = #filePath, line: UInt = #line) {
    let actual = snapshotText(buffer, styles: styles)
    let dir = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Snapshots")
    let url = dir.appendingPathComponent("\(name).txt")
    if ProcessInfo.processInfo.environment["SAESCOPE_RECORD"] == "1" {
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        do {
            try actual.write(to: url, atomically: true, encoding: .utf8)
        } catch {
            XCTFail("cannot write \(url.path): \(error)", file: file, line: line)
        }
        return
    }
    guard let data = FileManager.default.contents(atPath: url.path), let expected = String(data: data, encoding: .utf8) else {
        XCTFail("no golden file \(url.path); run with SAESCOPE_RECORD=1 to write it, then check it by eye\n\(actual)",
                file: file, line: line)
        return
    }
    if expected != actual {
        XCTFail("snapshot \(name) differs (- golden, + actual):\n" + lineDiff(expected, actual), file: file, line: line)
    }
}

func snapshotText(_ buffer: Buffer, styles: Bool) -> String {
    var out: [String] = []
    let border = "+" + String(repeating: "-", count: buffer.width) + "+"
    out.append(border)
    for l in buffer.render() { out.append("|" + l + "|") }
    out.append(border)
    if styles {
        let map = buffer.renderStyles()
        out.append("styles:")
        out.append(border)
        for l in map.grid { out.append("|" + l + "|") }
        out.append(border)
        out.append(contentsOf: map.legend)
    }
    return out.joined(separator: "\n") + "\n"
}

/// A plain line diff: common lines are skipped; differing lines show as -/+ with line numbers.
func lineDiff(_ a: String, _ b: String) -> String {
    let x = a.split(separator: "\n", omittingEmptySubsequences: false)
    let y = b.split(separator: "\n", omittingEmptySubsequences: false)
    var out: [String] = []
    for i in 0..<max(x.count, y.count) {
        let l = i < x.count ? String(x[i]) : nil
        let r = i < y.count ? String(y[i]) : nil
        if l == r { continue }
        if let l { out.append(String(format: "%4d - ", i + 1) + l) }
        if let r { out.append(String(format: "%4d + ", i + 1) + r) }
    }
    return out.joined(separator: "\n")
}

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
