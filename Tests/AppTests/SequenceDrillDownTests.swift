import App
import Foundation
import SAECore
import TUI
import Widgets
import XCTest

/// The drill-down into the cache: Enter on an exemplar of the detail screen opens its whole
/// sequence, shaded by the feature, with a token cursor and the features that fire under it.
final class SequenceDrillDownTests: XCTestCase {
    /// Feature 3's detail with the exemplar cursor moved to its second top exemplar.
    private func detailOnSecondExemplar() throws -> (AppController, Exemplar) {
        let app = try AppFixture.controller()
        app.type(":3\n")
        app.press(.char("j"))
        XCTAssertEqual(app.model.detail.exemplar, 1)
        let exemplar = try XCTUnwrap(app.model.index).topExemplars(3)[1]
        return (app, exemplar)
    }

    /// relu(x W_enc + b_enc) of cache row `row`, in Double (the fixture's weights are integers:
    /// exact): the nonzero codes, highest first, ties by id.
    private func referenceCodes(_ session: DictionarySession, row: Int) -> [(feature: Int, value: Float)] {
        let sae = session.sae, cache = session.cache!
        let d = sae.inputDimension, f = sae.featureCount
        var x = [Float](repeating: 0, count: d)
        x.withUnsafeMutableBufferPointer { cache.readRows(row..<(row + 1), into: $0.baseAddress!) }
        var codes: [(feature: Int, value: Float)] = []
        for j in 0..<f {
            var sum = Double(sae.encoderBias[j])
            for k in 0..<d { sum += Double(x[k]) * Double(sae.encoderWeights[k * f + j]) }
            if sum > 0 { codes.append((j, Float(sum))) }
        }
        return codes.sorted { $0.value != $1.value ? $0.value > $1.value : $0.feature < $1.feature }
    }

    /// The same row through saescope's encoder alone (one row, its own instance).
    private func encoderCodes(_ session: DictionarySession, row: Int) -> [(feature: Int, value: Float)] {
        let d = session.sae.inputDimension
        var x = [Float](repeating: 0, count: d)
        x.withUnsafeMutableBufferPointer { session.cache!.readRows(row..<(row + 1), into: $0.baseAddress!) }
        let encoder = SAEEncoder(sae: session.sae, maxRows: 1)
        x.withUnsafeBufferPointer { encoder.run($0.baseAddress!, rows: 1, reconstruct: false) }
        return zip(encoder.activeFeature, encoder.activeValue).map { (Int($0), $1) }.filter { $0.value != 0 }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.feature < $1.feature }
    }

    func testEnterOnAnExemplarOpensItsWholeSequenceWithTheFiringTokenMarked() throws {
        let (app, exemplar) = try detailOnSecondExemplar()
        app.press(.enter)
        app.finishJobs()
        XCTAssertEqual(app.model.screen, .sequence)
        let state = try XCTUnwrap(app.model.sequences.last)
        let cache = try XCTUnwrap(app.session.cache)
        // The sequence holding the exemplar's row, found here from the offsets directly.
        let s = try XCTUnwrap(cache.sequenceOffsets.lastIndex { $0 <= exemplar.row })
        let rows = cache.sequenceOffsets[s]..<cache.sequenceOffsets[s + 1]
        XCTAssertEqual(state.sequence, s)
        XCTAssertEqual(state.tokens, rows.map { cache.token(atRow: $0) })
        XCTAssertEqual(state.firing, exemplar.row - rows.lowerBound)
        XCTAssertEqual(state.cursor, state.firing)
        // The shading is the feature's activation: at the firing token, the exemplar's value.
        XCTAssertEqual(state.activation(of: 3, at: state.firing), exemplar.value)

        // Monochrome brackets the firing token; the caret below it marks the cursor there.
        let lines = app.frame(width: 80, height: 24, monochrome: true).render()
        let word = app.session.tokenText(cache.token(atRow: exemplar.row)).trimmingCharacters(in: .whitespaces)
        let y = try XCTUnwrap(lines.firstIndex { $0.contains("[\(word)]") }, "the firing token is bracketed")
        let x = lines[y].distance(from: lines[y].startIndex, to: lines[y].range(of: "[\(word)]")!.lowerBound)
        let caretLine = Array(lines[y + 1])
        XCTAssertEqual(caretLine[x], "^", "the caret is under the cursor token")
        // Every token of the sequence is on the screen, in order.
        let text = lines.joined(separator: "\n")
        var from = text.startIndex
        for id in state.tokens {
            let piece = app.session.tokenText(id).trimmingCharacters(in: .whitespaces)
            let found = try XCTUnwrap(text.range(of: piece, range: from..<text.endIndex), "token \(piece) shown in order")
            from = found.upperBound
        }
    }

    func testTheCursorMovesBetweenTokensAndTheSidePaneListsTheEncodersCodesThere() throws {
        let (app, exemplar) = try detailOnSecondExemplar()
        app.press(.enter)
        app.finishJobs()
        var state = try XCTUnwrap(app.model.sequences.last)
        let firing = state.firing
        app.press(.char("l"))
        XCTAssertEqual(app.model.sequences.last?.cursor, firing + 1)
        app.press(.left, .left)
        XCTAssertEqual(app.model.sequences.last?.cursor, firing - 1)
        for _ in 0..<40 { app.press(.char("h")) }
        XCTAssertEqual(app.model.sequences.last?.cursor, 0, "the cursor stops at the first token")
        for _ in 0..<40 { app.press(.right) }
        XCTAssertEqual(app.model.sequences.last?.cursor, state.tokens.count - 1, "and at the last")
        app.press(.char("f"))
        XCTAssertEqual(app.model.sequences.last?.cursor, firing, "f goes back to the firing token")

        // At every position: the features equal the encoder's codes of that row alone, and a
        // hand-computed relu(x W + b) (exact in the fixture's integers).
        for p in 0..<state.tokens.count {
            let row = state.rows.lowerBound + p
            let shown = state.features(at: p)
            let encoded = encoderCodes(app.session, row: row), reference = referenceCodes(app.session, row: row)
            XCTAssertEqual(shown.map(\.feature), encoded.map(\.feature), "position \(p)")
            XCTAssertEqual(shown.map(\.value), encoded.map(\.value), "position \(p)")
            XCTAssertEqual(shown.map(\.feature), reference.map(\.feature), "position \(p)")
            XCTAssertEqual(shown.map(\.value), reference.map(\.value), "position \(p)")
        }
        XCTAssertEqual(exemplar.row, state.rows.lowerBound + firing)

        // The side pane draws them in that order, with each one's activation.
        app.press(.char("l"))
        state = try XCTUnwrap(app.model.sequences.last)
        let expected = referenceCodes(app.session, row: state.rows.lowerBound + state.cursor)
        XCTAssertFalse(expected.isEmpty)
        let lines = app.frame(width: 160, height: 48).render()
        var lastY = -1
        for code in expected {
            let label = "#\(code.feature)"
            let y = try XCTUnwrap(lines.firstIndex { line in
                line.split(separator: "│").contains { $0.hasPrefix(label + " ") } }, "\(label) listed")
            XCTAssertGreaterThan(y, lastY, "\(label) below the higher ones")
            XCTAssertTrue(lines[y].contains(NumberFormat.compact(Double(code.value))))
            lastY = y
        }
    }

    func testEnterOpensAFeatureAndBackReturnsThroughTheDrillDowns() throws {
        let (app, _) = try detailOnSecondExemplar()
        app.press(.enter)
        app.finishJobs()
        let state = try XCTUnwrap(app.model.sequences.last)
        let features = state.features(at: state.cursor)
        XCTAssertGreaterThan(features.count, 1)
        app.press(.char("j"), .enter)
        XCTAssertEqual(app.model.screen, .detail)
        XCTAssertEqual(app.model.detail.feature, features[1].feature)
        app.press(.char("q"))
        XCTAssertEqual(app.model.screen, .sequence, "q goes back to the sequence")
        XCTAssertEqual(app.model.sequences.last?.featureTable.selected, 1)
        app.press(.escape)
        XCTAssertEqual(app.model.screen, .detail)
        XCTAssertEqual(app.model.detail.feature, 3, "the detail it was opened from, as it was")
        XCTAssertEqual(app.model.detail.exemplar, 1)
        XCTAssertTrue(app.model.sequences.isEmpty)
        app.press(.char("q"))
        XCTAssertEqual(app.model.screen, .features)
        XCTAssertFalse(app.model.quit)
    }

    func testTheExemplarCursorStepsThroughEveryExemplarAndScrollsToIt() throws {
        let app = try AppFixture.controller()
        app.type(":3\n")
        let index = try XCTUnwrap(app.model.index)
        let count = index.topExemplars(3).count + index.intervalExemplars(3).reduce(0) { $0 + $1.exemplars.count }
        _ = app.frame(width: 80, height: 24)
        app.press(.char("k"))
        XCTAssertEqual(app.model.detail.exemplar, 0, "stops at the first")
        app.press(.char("G"))
        XCTAssertEqual(app.model.detail.exemplar, count - 1)
        app.press(.char("j"))
        XCTAssertEqual(app.model.detail.exemplar, count - 1, "stops at the last")
        // The last exemplar (an interval sample) is drawn with the pointer, and Enter opens its row.
        let lines = app.frame(width: 80, height: 24).render()
        XCTAssertEqual(lines.filter { $0.hasPrefix("│▶") }.count, 1, "one exemplar under the cursor, in view")
        let last = try XCTUnwrap(index.intervalExemplars(3).reversed().flatMap(\.exemplars).last)
        app.press(.enter)
        app.finishJobs()
        let state = try XCTUnwrap(app.model.sequences.last)
        XCTAssertEqual(state.rows.lowerBound + state.firing, last.row)
    }

    func testALongSequenceWrapsAndScrollsToKeepTheCursorInView() throws {
        // Every sentence eight times over: 40-odd tokens, several lines of the 16-row screen's pane.
        let long = AppFixture.sentences.map { Array(repeating: $0, count: 8).joined(separator: " ") }
        let app = try AppFixture.controller(sentences: long)
        app.type(":3\n")
        app.press(.enter)
        app.finishJobs()
        let state = try XCTUnwrap(app.model.sequences.last)
        XCTAssertGreaterThan(state.tokens.count, 40)
        func caretRows() -> [String] { app.frame(width: 60, height: 16).render().filter { $0.contains("^") } }
        app.press(.char("g"))  // g/G move the side list, not the token cursor
        XCTAssertEqual(app.model.sequences.last?.cursor, state.firing)
        for _ in 0..<state.tokens.count { app.press(.char("h")) }
        let first = app.frame(width: 60, height: 16).render()
        XCTAssertEqual(caretRows().count, 1)
        XCTAssertTrue(first.contains { $0.contains("[CLS]") }, "the first line shows at the first token")
        for _ in 0..<state.tokens.count { app.press(.char("l")) }
        let last = app.frame(width: 60, height: 16).render()
        XCTAssertEqual(caretRows().count, 1, "the caret of the last token is in view")
        XCTAssertFalse(last.contains { $0.contains("[CLS]") }, "the first line scrolled away")
        XCTAssertTrue(last.contains { $0.contains("[SEP]") })
        XCTAssertGreaterThan(app.model.sequences.last?.scroll ?? 0, 0)
    }

    func testWrappingFillsLinesAndBreaksAfterNewlines() {
        XCTAssertEqual(AppController.wrap(widths: [3, 3, 3, 3], breaksAfter: [false, false, false, false], width: 7), [0..<2, 2..<4])
        XCTAssertEqual(AppController.wrap(widths: [3, 9, 1], breaksAfter: [false, false, false], width: 7), [0..<1, 1..<2, 2..<3],
                       "a token wider than the line has one to itself")
        XCTAssertEqual(AppController.wrap(widths: [1, 1, 1], breaksAfter: [false, true, false], width: 80), [0..<2, 2..<3])
        XCTAssertEqual(AppController.wrap(widths: [], breaksAfter: [], width: 10), [0..<0])
    }

    func testTheSequenceIsEncodedInTheBackgroundAndTheScreenSaysSoUntilThen() throws {
        let (app, exemplar) = try detailOnSecondExemplar()
        app.press(.enter)
        // The codes reach the model only through handleJobEvents: until then nothing is encoded,
        // the tokens show (unshaded) and both the header and the side pane say "encoding".
        let pending = try XCTUnwrap(app.model.sequences.last)
        XCTAssertNil(pending.codes)
        XCTAssertTrue(pending.features(at: pending.cursor).isEmpty)
        let job = try XCTUnwrap(app.model.jobs.first { $0.id == pending.encodeJob })
        XCTAssertEqual(job.title, "encode sequence \(pending.sequence) (\(pending.tokens.count) tokens)")
        let before = app.frame(width: 80, height: 24).render()
        XCTAssertEqual(before.joined(separator: "\n").components(separatedBy: "encoding").count - 1, 2, before.joined(separator: "\n"))
        let word = app.session.tokenText(exemplar.contextTokens[exemplar.contextTokens.count / 2]).trimmingCharacters(in: .whitespaces)
        XCTAssertTrue(before.contains { $0.contains(word) }, "the tokens show before the codes")
        app.finishJobs()
        let state = try XCTUnwrap(app.model.sequences.last)
        XCTAssertEqual(state.activation(of: 3, at: state.firing), exemplar.value)
        XCTAssertFalse(app.frame(width: 80, height: 24).render().contains { $0.contains("encoding") })
    }

    func testLeavingBeforeTheEncodeEndsCancelsItAndLeavesNothingBehind() throws {
        let (app, _) = try detailOnSecondExemplar()
        app.press(.enter, .char("q"))
        XCTAssertEqual(app.model.screen, .detail)
        app.finishJobs()
        XCTAssertTrue(app.model.sequences.isEmpty)
        XCTAssertEqual(app.model.screen, .detail)
        XCTAssertEqual(app.model.detail.exemplar, 1)
    }

    func testEnterOnAnExemplarOfBAtFullSizeOpensItsSequenceEncodedWithB() throws {
        let app = try AppFixture.comparingController()
        app.press(.tab, .enter)
        let k = try XCTUnwrap(app.model.comparison?.view.zoomed)
        let index = try XCTUnwrap(app.model.comparison?.index)
        let other = try XCTUnwrap(app.model.comparison?.other)
        XCTAssertGreaterThan(index.topExemplars(k).count, 1)
        _ = app.frame(width: 100, height: 30)
        app.press(.char("j"))
        XCTAssertEqual(app.model.comparison?.view.zoomExemplar, 1)
        let lines = app.frame(width: 100, height: 30).render()
        XCTAssertEqual(lines.filter { $0.hasPrefix("│▶") }.count, 1, "B's exemplar under the cursor is marked")
        let exemplar = index.topExemplars(k)[1]
        app.press(.enter)
        app.finishJobs()
        XCTAssertEqual(app.model.screen, .sequence)
        let state = try XCTUnwrap(app.model.sequences.last)
        XCTAssertEqual(state.dictionary, .compared)
        XCTAssertEqual(state.rows.lowerBound + state.firing, exemplar.row)
        XCTAssertEqual(state.activation(of: k, at: state.firing), exemplar.value, "shaded by B's feature")
        for p in 0..<state.tokens.count {
            let shown = state.features(at: p), encoded = encoderCodes(other, row: state.rows.lowerBound + p)
            XCTAssertEqual(shown.map(\.feature), encoded.map(\.feature), "position \(p): B's codes")
            XCTAssertEqual(shown.map(\.value), encoded.map(\.value), "position \(p)")
        }
        let text = app.frame(width: 100, height: 30).render().joined(separator: "\n")
        XCTAssertTrue(text.contains("B fixture-b · Feature \(k) · sequence \(state.sequence)"), text)

        // Enter on a feature there opens B's feature at full size; q comes back to the sequence,
        // and q again to the compare screen as it was.
        let features = state.features(at: state.cursor)
        XCTAssertFalse(features.isEmpty)
        app.press(.enter)
        XCTAssertEqual(app.model.screen, .compare)
        XCTAssertEqual(app.model.comparison?.view.zoomed, features[0].feature)
        app.press(.char("q"))
        XCTAssertEqual(app.model.screen, .sequence)
        app.press(.char("q"))
        XCTAssertEqual(app.model.screen, .compare)
        XCTAssertEqual(app.model.comparison?.view.zoomed, k)
        XCTAssertEqual(app.model.comparison?.view.zoomExemplar, 1)
        XCTAssertTrue(app.model.sequences.isEmpty)
    }

    func testWOnTheFeatureListOpensTheTopExemplarAndOnASearchHitTheExemplarThatMatched() throws {
        let app = try AppFixture.controller()
        let index = try XCTUnwrap(app.model.index)
        app.type(":3\n")
        app.press(.char("q"))
        XCTAssertEqual(app.model.selectedFeature, 3)
        app.press(.char("w"))
        app.finishJobs()
        XCTAssertEqual(app.model.screen, .sequence)
        var state = try XCTUnwrap(app.model.sequences.last)
        XCTAssertEqual(state.feature, 3)
        XCTAssertEqual(state.rows.lowerBound + state.firing, index.topExemplars(3)[0].row)
        app.press(.char("q"))
        XCTAssertEqual(app.model.screen, .features)
        XCTAssertTrue(app.model.sequences.isEmpty)

        // A word that a feature's top exemplars hold first at a rank past the first: found here
        // from the exemplars' decoded contexts.
        func text(_ e: Exemplar) -> String { app.session.decodedText(e.contextTokens.filter { $0 >= 0 }).lowercased() }
        var found: (word: String, feature: Int, rank: Int)?
        search: for word in ["darcy", "bennet", "hello", "park", "miss", "world", "room"] {
            for j in 0..<index.featureCount {
                let top = index.topExemplars(j)
                if let rank = top.firstIndex(where: { text($0).contains(word) }), rank > 0 { found = (word, j, rank); break search }
            }
        }
        let (word, j, rank) = try XCTUnwrap(found)
        app.type("/\(word)\n")
        app.type(":\(j)\n")
        app.press(.char("q"))
        XCTAssertEqual(app.model.selectedFeature, j)
        XCTAssertTrue(app.model.list.searchHits.contains(app.model.list.table.selected), "feature \(j) is a hit of \(word)")
        app.press(.char("w"))
        app.finishJobs()
        state = try XCTUnwrap(app.model.sequences.last)
        XCTAssertEqual(state.rows.lowerBound + state.firing, index.topExemplars(j)[rank].row, "the exemplar holding \(word)")
    }

    func testWOnAProbesAlignedFeatureOpensItsTopExemplar() throws {
        let app = try ProbesFixture.controller()
        app.press(.char("p"))
        ProbesFixture.settle(app)
        app.press(.char("w"))
        XCTAssertEqual(app.model.screen, .probes, "w acts on the aligned features only")
        app.press(.tab, .enter)
        XCTAssertEqual(app.model.probes.pane, .features)
        let index = try XCTUnwrap(app.model.index)
        let row = try XCTUnwrap(app.model.probes.alignedFeatures.firstIndex { index.topExemplarCount($0.feature) > 0 })
        for _ in 0..<row { app.press(.down) }
        let feature = app.model.probes.alignedFeatures[row].feature
        app.press(.char("w"))
        app.finishJobs()
        XCTAssertEqual(app.model.screen, .sequence)
        let state = try XCTUnwrap(app.model.sequences.last)
        XCTAssertEqual(state.feature, feature)
        XCTAssertEqual(state.rows.lowerBound + state.firing, index.topExemplars(feature)[0].row)
        app.press(.char("q"))
        XCTAssertEqual(app.model.screen, .probes)
    }

    func testSequenceScreen() throws {
        let (app, _) = try detailOnSecondExemplar()
        app.press(.enter)
        app.finishJobs()
        app.press(.char("l"))
        assertScreen(app, width: 80, height: 24, named: "sequence-80x24")
        assertScreen(app, width: 160, height: 48, named: "sequence-160x48")
    }
}
