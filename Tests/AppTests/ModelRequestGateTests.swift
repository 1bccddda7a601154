import Foundation
import XCTest
@testable import App

/// A short request (typed text) waits for one CE batch, not for the whole CE run.
final class ModelRequestGateTests: XCTestCase {
    /// A log shared by the threads (the gate is what is tested, not this).
    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String] = []
        func add(_ entry: String) { lock.withLock { entries.append(entry) } }
        var all: [String] { lock.withLock { entries } }
    }

    func testUrgentRequestRunsBetweenBatchesOfALongHolder() {
        let gate = ModelRequestGate()
        let log = Log()
        let firstBatchRunning = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        DispatchQueue.global().async(group: done) {
            gate.run(urgent: false) {
                for batch in 0..<6 {
                    log.add("batch \(batch)")
                    if batch == 0 { firstBatchRunning.signal() }
                    Thread.sleep(forTimeInterval: 0.05)
                    gate.yieldToWaiting()
                }
            }
        }
        firstBatchRunning.wait()
        DispatchQueue.global().async(group: done) {
            gate.run(urgent: true) { log.add("text") }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        let entries = log.all
        let text = entries.firstIndex(of: "text")
        XCTAssertNotNil(text)
        // It ran after batch 0 or 1 (the batch running when it arrived), long before the last.
        XCTAssertLessThanOrEqual(text ?? 99, 2, "\(entries)")
        XCTAssertEqual(entries.filter { $0.hasPrefix("batch") }.count, 6)
    }

    func testNormalRequestsWaitForTheHolderAndUrgentOnesGoFirst() {
        let gate = ModelRequestGate()
        let log = Log()
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        DispatchQueue.global().async(group: done) {
            gate.run(urgent: false) {
                holding.signal()
                release.wait()
                log.add("first")
            }
        }
        holding.wait()
        DispatchQueue.global().async(group: done) { gate.run(urgent: false) { log.add("normal") } }
        Thread.sleep(forTimeInterval: 0.1)
        DispatchQueue.global().async(group: done) { gate.run(urgent: true) { log.add("urgent") } }
        Thread.sleep(forTimeInterval: 0.1)
        release.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(log.all, ["first", "urgent", "normal"])
    }

    /// A holder that finds nobody waiting keeps the process (no hand-over cost per batch).
    func testYieldWithNobodyWaitingReturnsAtOnce() {
        let gate = ModelRequestGate()
        let value = gate.run(urgent: false) { () -> Int in
            gate.yieldToWaiting()
            return 7
        }
        XCTAssertEqual(value, 7)
    }
}
