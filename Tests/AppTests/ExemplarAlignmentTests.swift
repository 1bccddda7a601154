import App
import SAECore
import TUI
import XCTest

/// Exemplars line up on the token that fired, in every list and pane, at any width; the detail
/// screen counts the distinct tokens its top exemplars fired on.
final class ExemplarAlignmentTests: XCTestCase {
    /// The fixture indexed with more context than an 80-column list can show.
    private func controller(context: Int) throws -> AppController {
        var options = AppFixture.small
        options.context = context
        return try AppFixture.controller(options: options)
    }

    func testFeatureListColumnPutsEveryFiringTokenAtOneColumn() throws {
        for context in [3, 20] {
            let app = try controller(context: context)
            let index = try XCTUnwrap(app.model.index)
            for (width, height) in [(80, 24), (220, 50)] {
                let lines = app.frame(width: width, height: height).render()
                // Rows start on line 3 (title, panel top, header); the top exemplar column follows "top token".
                let header = lines[2]
                let exemplarColumn = try XCTUnwrap(header.range(of: "top exemplar")).lowerBound.utf16Offset(in: header)
                let rows = app.model.list.rows.prefix(height - 7)
                var starts: [Int] = []
                for (n, j) in rows.enumerated() where index.topExemplarCount(j) > 0 {
                    let line = Array(lines[3 + n])
                    let token = Array(app.session.tokenText(index.topActivatingToken(j, rank: 0)).trimmingCharacters(in: .whitespaces))
                    let exemplar = String(line[exemplarColumn...])
                    XCTAssertFalse(exemplar.trimmingCharacters(in: .whitespaces).isEmpty)
                    // The firing token is found at the same column on every row.
                    let found = (exemplarColumn..<(line.count - token.count)).filter { Array(line[$0..<($0 + token.count)]) == token }
                    XCTAssertFalse(found.isEmpty, "context \(context), \(width) columns: row of feature \(j) shows its token \(String(token)): \(String(line))")
                    starts.append(contentsOf: found)
                }
                let common = Dictionary(grouping: starts, by: { $0 }).max { $0.value.count < $1.value.count }!.key
                for (n, j) in rows.enumerated() where index.topExemplarCount(j) > 0 {
                    let line = Array(lines[3 + n])
                    let token = Array(app.session.tokenText(index.topActivatingToken(j, rank: 0)).trimmingCharacters(in: .whitespaces))
                    XCTAssertEqual(Array(line[common..<min(line.count, common + token.count)]), token,
                                   "context \(context), \(width) columns: feature \(j)'s token at column \(common): \(String(line))")
                }
            }
        }
    }

    func testDetailPaneAlignsExemplarsAndCountsTheirTokens() throws {
        let app = try controller(context: 20)
        let index = try XCTUnwrap(app.model.index)
        let j = try XCTUnwrap((0..<AppFixture.f).max { index.topExemplarCount($0) < index.topExemplarCount($1) })
        app.type(":\(j)\n")
        for (width, height) in [(80, 24), (220, 50)] {
            let buffer = app.frame(width: width, height: height)
            let lines = buffer.render()
            // The firing token of each top exemplar: the cells drawn bold (and underlined) in the exemplar pane.
            var columns: Set<Int> = []
            for y in 3..<(3 + index.topExemplarCount(j)) {
                let xs = (0..<width / 2).filter { buffer[$0, y].style.attributes.contains(.bold) && buffer[$0, y].style.attributes.contains(.underline) }
                XCTAssertFalse(xs.isEmpty, "\(width) columns: line \(y) has a highlighted token: \(lines[y])")
                if let first = xs.first(where: { String(lines[y].dropFirst($0).prefix(1)) != " " }) { columns.insert(first) }
            }
            XCTAssertEqual(columns.count, 1, "\(width) columns: every firing token starts at one column \(columns)")
        }
        // The table of distinct top tokens: as counted from the index directly.
        var counts: [String: Int] = [:]
        for rank in 0..<index.topExemplarCount(j) {
            counts[app.session.tokenText(index.topActivatingToken(j, rank: rank)).trimmingCharacters(in: .whitespaces), default: 0] += 1
        }
        let text = app.frame(width: 220, height: 50).render()
        let heading = try XCTUnwrap(text.firstIndex { $0.contains("Distinct top tokens: \(counts.count) in the top \(index.topExemplarCount(j))") })
        var shown: [Int] = []
        for n in 0..<min(10, counts.count) {
            // "│      4 the              ████████ 80%": the count, then the token.
            let words = text[heading + 1 + n].split(separator: "│")[0].split(separator: " ").map(String.init)
            let count = try XCTUnwrap(Int(words[0]), text[heading + 1 + n])
            XCTAssertEqual(counts[words[1]], count, "\(words[1]) fired in \(count) of the top exemplars")
            shown.append(count)
        }
        XCTAssertEqual(shown, shown.sorted(by: >), "most frequent first")
        XCTAssertEqual(shown.first, counts.values.max())
    }

    func testSnapshotsAt80And220Columns() throws {
        let app = try controller(context: 8)
        app.press(.down, .char(" "))
        assertScreen(app, width: 80, height: 24, named: "features-aligned-80x24")
        assertScreen(app, width: 220, height: 50, named: "features-aligned-220x50")
        app.type(":3\n")
        assertScreen(app, width: 80, height: 24, named: "detail-aligned-80x24")
        assertScreen(app, width: 220, height: 50, named: "detail-aligned-220x50")
    }
}
