import App
import Foundation
import SAECore
import XCTest

/// Three small probe datasets at the fixture dictionary's width (D = 6), written as CSV +
/// safetensors into a temporary folder: `towns` and its negated twin `neg_towns` (truth along
/// dimension 0, a `coastal` column along dimension 1) and `sums` (truth along dimension 3,
/// weakly against dimension 0, so probes trained on towns transfer badly). Clusters are far
/// apart next to the noise, and the noise is not a round number, so no statement scores near a
/// decision boundary: every figure on screen is the same on any machine.
enum ProbesFixture {
    static let rows = 20

    static func folder() throws -> String {
        let folder = AppFixture.temporaryDirectory().appendingPathComponent("probes").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (s, name) in ["towns", "neg_towns", "sums"].enumerated() {
            var csv = s < 2 ? "statement,label,has_not,coastal\n" : "statement,label,has_not\n"
            var acts: [Float] = []
            for r in 0..<rows {
                let label = r % 2 == 0, coastal = (r / 2) % 2 == 0
                let statement = s == 2 ? "\(r) plus \(r) is \(label ? 2 * r : 2 * r + 1)."
                    : "\"Town \(r), by the \(coastal ? "sea" : "hills"), is \(s == 1 ? "not " : "")in \(label != (s == 1) ? "Spain" : "Peru").\""
                csv += statement + ",\(label ? 1 : 0),\(s == 1 ? 1 : 0)" + (s < 2 ? ",\(coastal ? 1 : 0)" : "") + "\n"
                var v = (0..<AppFixture.d).map { k in (Double(AppFixture.hashed(r, 10 * s + k, -3, 3)) + 0.1 * Double(k) + 0.05) / 3 }
                switch s {
                case 0: v[0] += label ? 4 : -4; v[1] += coastal ? 2 : -2
                case 1: v[0] += label ? 4 : -4; v[1] += coastal ? -2 : 2
                default: v[0] += label ? -1 : 1; v[3] += label ? 4 : -4
                }
                acts += v.map(Float.init)
            }
            try csv.write(toFile: "\(folder)/\(name).csv", atomically: true, encoding: .utf8)
            try Safetensors.write([.init(name: "acts", floats: acts, shape: [rows, AppFixture.d])], to: "\(folder)/\(name).safetensors")
        }
        return folder
    }

    /// The fixture browser with the probe datasets read (not yet on the probes screen).
    static func controller() throws -> AppController {
        let app = try AppFixture.controller()
        app.loadProbes(paths: [try folder()])
        settle(app)
        XCTAssertEqual(app.model.probes.datasets?.map(\.name), ["sums", "towns", "neg_towns"], "a folder's CSVs by name, twins together")
        return app
    }

    /// Waits for every job and hands their results to the controller, again while handing them
    /// over started new jobs (an alignment after its matrix, which may already have finished).
    static func settle(_ app: AppController, file: StaticString = #filePath, line: UInt = #line) {
        for _ in 0..<10 {
            XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 120), file: file, line: line)
            let lastJob = app.jobs.snapshot.last?.id
            app.handleJobEvents()
            if app.jobs.snapshot.last?.id == lastJob { return }
        }
    }
}
