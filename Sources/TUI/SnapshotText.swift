import Foundation

/// Golden-text snapshots of a buffer, for tests and for README captures.
///
/// The buffer's text is framed (`+---+`, `|...|`) so trailing spaces and the buffer's edge are
/// visible; with `styles: true` a style map follows (one letter per cell, see
/// `Buffer.renderStyles`) with its legend.
public enum SnapshotText {
    public static func of(_ buffer: Buffer, styles: Bool) -> String {
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

    /// Compares `actual` with the golden file at `path`; nil when equal. With `record`, writes the
    /// file instead and returns nil (or the write error).
    public static func check(_ actual: String, goldenPath path: String, record: Bool) -> String? {
        if record {
            do {
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try actual.write(toFile: path, atomically: true, encoding: .utf8)
                return nil
            } catch {
                return "cannot write \(path): \(error)"
            }
        }
        guard let data = FileManager.default.contents(atPath: path), let expected = String(data: data, encoding: .utf8) else {
            return "no golden file \(path); run with SAESCOPE_RECORD=1 to write it, then check it by eye\n\(actual)"
        }
        return expected == actual ? nil : "snapshot \((path as NSString).lastPathComponent) differs (- golden, + actual):\n" + lineDiff(expected, actual)
    }

    /// A plain line diff: common lines are skipped; differing lines show as -/+ with line numbers.
    public static func lineDiff(_ a: String, _ b: String) -> String {
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
}
