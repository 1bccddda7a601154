import Foundation
import TestSupport
import XCTest

/// Quitting while the first index is being built (workers inside OpenBLAS's sgemm) must end
/// the program cleanly on every way out: it used to segfault in about one try in three, when
/// exit's teardown freed OpenBLAS's buffers under a running worker.
final class QuitDuringIndexEndToEndTests: XCTestCase {
    static let repository = InterfaceEndToEndTests.repository

    /// How a try quits, and the exit status the README documents for it.
    enum Way: CaseIterable {
        case q, ctrlC, sigterm, sighup
        var status: Int {
            switch self {
            case .q, .ctrlC: return 0
            case .sigterm: return 128 + Int(SIGTERM)
            case .sighup: return 128 + Int(SIGHUP)
            }
        }
    }

    /// 32 tries, eight per way, each quitting 0 to 1.2 s after the index job started (the whole
    /// sample takes several seconds to index, so every try quits while it runs), four programs
    /// at a time to keep the test under a minute.
    func testQuittingAtAnyMomentOfAFirstIndexNeverCrashes() throws {
        guard TmuxSession.tmuxPath != nil else { throw XCTSkip("tmux is not installed (make deps installs it)") }
        let tries = (0..<32).map { i in (way: Way.allCases[i % 4], delay: Double((i * 7) % 13) / 10) }
        let started = Date()
        for batch in stride(from: 0, to: tries.count, by: 4) {
            let group = Array(tries[batch..<batch + 4])
            let sessions = try group.map { _ in try start() }
            // Each program's quit moment, counted from when it says its index job started.
            var due: [(at: Date, session: Int)] = []
            for (n, session) in sessions.enumerated() {
                try session.waitFor(text: "indexing in the background", timeout: 60)
                due.append((Date().addingTimeInterval(group[n].delay), n))
            }
            for (at, n) in due.sorted(by: { $0.at < $1.at }) {
                let wait = at.timeIntervalSinceNow
                if wait > 0 { Thread.sleep(forTimeInterval: wait) }
                let session = sessions[n]
                XCTAssertFalse(session.screen().contains("index complete"), "try \(batch + n) quit after the index was done")
                switch group[n].way {
                case .q: session.press("q")
                case .ctrlC: session.press("C-c")
                case .sigterm, .sighup:
                    let pid = try XCTUnwrap(session.programPID())
                    kill(pid, group[n].way == .sigterm ? SIGTERM : SIGHUP)
                }
            }
            for (n, session) in sessions.enumerated() {
                let exit = try session.waitForExit(timeout: 30)
                let what = "try \(batch + n): \(group[n].way) after \(group[n].delay) s"
                XCTAssertEqual(exit.code, group[n].way.status, "\(what) exited with \(exit.code.map(String.init) ?? "?"):\n\(exit.screen)")
                XCTAssertTrue(exit.cookedMode, "\(what): terminal restored:\n\(exit.screen)")
                XCTAssertFalse(exit.screen.contains("Fatal error") || exit.screen.contains("Crash"), "\(what):\n\(exit.screen)")
            }
        }
        print("32 quits during a first index took \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }

    /// Quitting just after `c` (the decoder matching and B's index running): a plain exit's
    /// teardown used to hang here for half a minute (threads parked in a futex) or crash.
    /// Six tries, three at a time, each must be gone within five seconds of the q.
    func testQuittingWhileTheComparisonComputesEndsAtOnce() throws {
        guard TmuxSession.tmuxPath != nil else { throw XCTSkip("tmux is not installed (make deps installs it)") }
        let delays = [0.05, 0.15, 0.3, 0.1, 0.2, 0.4]
        for batch in stride(from: 0, to: delays.count, by: 3) {
            let sessions = try (0..<3).map { _ in try start(["--max-tokens", "6000"]) }
            for session in sessions { try session.waitFor(text: "index complete", timeout: 120) }
            var quitAt: [Date] = []
            for (n, session) in sessions.enumerated() {
                session.press("c")
                Thread.sleep(forTimeInterval: delays[batch + n])
                session.press("q")
                quitAt.append(Date())
            }
            for (n, session) in sessions.enumerated() {
                let exit = try session.waitForExit(timeout: 30)
                let seconds = Date().timeIntervalSince(quitAt[n])
                XCTAssertEqual(exit.code, 0, "q \(delays[batch + n]) s after c:\n\(exit.screen)")
                XCTAssertLessThan(seconds, 5, "q \(delays[batch + n]) s after c took \(seconds) s to exit")
                XCTAssertTrue(exit.cookedMode, exit.screen)
            }
        }
    }

    /// The sample (whole unless `arguments` limit it), with private cache and data directories.
    private func start(_ arguments: [String] = []) throws -> TmuxSession {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-quit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: scratch) }
        return try TmuxSession(executable: SaescopeBinary.url.path, arguments, width: 100, height: 30,
                               environment: ["XDG_CACHE_HOME": scratch, "XDG_DATA_HOME": scratch, "TERM": "xterm-256color"],
                               directory: Self.repository)
    }
}
