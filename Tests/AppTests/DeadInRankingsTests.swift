@testable import App
import Foundation
import SAECore
import XCTest

/// Issue #14 item 6: dead features (density 0 in the index) are left out of every cosine
/// ranking by default (decoder neighbours, probe-aligned features, compare's orders), `D` brings
/// them back, and each ranking shows its chance level. The fixture has no dead feature, so the
/// test kills some by zeroing their counts in the index the browser holds.
final class DeadInRankingsTests: XCTestCase {
    private func kill(_ features: [Int], in app: AppController) {
        for j in features { app.model.index?.tables.count[j] = 0 }
        for j in features { XCTAssertTrue(app.model.index!.isDead(j)) }
    }

    func testNeighboursLeaveOutDeadFeaturesUntilD() throws {
        let app = try AppFixture.controller()
        let all = app.session.neighbours.nearest(to: 0, count: 9)
        kill([all[0].feature, all[2].feature], in: app)
        let alive = app.nearestNeighbours(of: 0)
        XCTAssertEqual(alive.map(\.feature), all.map(\.feature).filter { $0 != all[0].feature && $0 != all[2].feature }
                       + app.session.neighbours.nearest(to: 0, count: 11).map(\.feature).suffix(2))
        app.press(.char("D"))
        XCTAssertTrue(app.model.includeDeadInRankings)
        XCTAssertEqual(app.nearestNeighbours(of: 0).map(\.feature), all.map(\.feature))
        XCTAssertTrue(app.model.message?.text.contains("rankings include the 2 dead features") == true, "\(String(describing: app.model.message))")
        app.press(.char("D"))
        XCTAssertEqual(app.nearestNeighbours(of: 0).map(\.feature), alive.map(\.feature))

        // The detail screen shows the chance level of what it ranks: 15 others, 2 of them dead.
        app.openFeature(0)
        let text = app.frame(width: 160, height: 48).render().joined(separator: "\n")
        XCTAssertTrue(text.contains(ChanceLevel.caption(dimension: AppFixture.d, count: 13)), text)
    }

    func testProbeAlignedFeaturesLeaveOutDeadFeaturesUntilD() throws {
        let app = try ProbesFixture.controller()
        app.press(.char("p"))
        ProbesFixture.settle(app)
        let withDead = app.model.probes.alignedFeatures.map(\.feature)
        XCTAssertFalse(withDead.isEmpty)
        // Kill the first and third of them; a new alignment (another row) leaves them out.
        let dead = [withDead[0], withDead[2]]
        kill(dead, in: app)
        app.model.probes.alignments = [:]
        app.press(.char("m"))  // every method (the sparse ones too) and back to dim
        while app.model.probes.methodName != "dim" { app.press(.char("m")) }
        ProbesFixture.settle(app)
        let alive = app.model.probes.alignedFeatures.map(\.feature)
        XCTAssertFalse(alive.contains(dead[0]) || alive.contains(dead[1]), "\(alive) holds a dead feature of \(dead)")
        // The others keep their order; features below the cut before may move up into it.
        XCTAssertEqual(alive.filter { withDead.contains($0) }, withDead.filter { !dead.contains($0) })
        app.press(.char("D"))
        ProbesFixture.settle(app)
        XCTAssertEqual(app.model.probes.alignedFeatures.map(\.feature), withDead, "D brings them back")
    }

    func testCompareWorstFirstLeavesOutDeadAFeaturesUntilD() throws {
        let app = try AppFixture.comparingController()
        app.press(.char("s"))  // worst first
        XCTAssertEqual(app.model.comparison?.view.order, .worst)
        let worst = try XCTUnwrap(app.model.comparison?.view.rows)
        kill([worst[0], worst[1]], in: app)
        app.press(.char("s"), .char("s"), .char("s"), .char("s"))  // round to worst first again
        XCTAssertEqual(app.model.comparison?.view.rows, Array(worst.dropFirst(2)))
        app.press(.char("D"))
        XCTAssertEqual(app.model.comparison?.view.rows, worst)
        let text = app.frame(width: 160, height: 48).render().joined(separator: "\n")
        XCTAssertTrue(text.contains("chance " + String(format: "%.2f", ChanceLevel.expectedMaxCosine(dimension: AppFixture.d, count: AppFixture.fB))), text)
    }
}
