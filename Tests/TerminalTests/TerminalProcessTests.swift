import Foundation
import Glibc
import TUI
import TestSupport
import XCTest
@testable import Terminal

/// What a process can do to its terminal only once: crash, call exit(), hang and be killed.
/// Each test runs this test bundle again inside a detached tmux session (its own server
/// socket), with `testChildProcess` opening a screen there; after the child is gone, tmux is
/// asked whether the pane is back on the main screen with the cursor shown, mouse reporting off
/// and normal cursor keys.
final class TerminalProcessTests: XCTestCase {
    static let childVariable = "SAESCOPE_TERMINAL_CHILD"

    func testCrashRestoresTheTerminal() throws {
        let run = try runChild(mode: "crash")
        XCTAssertTrue(run.screen.contains("Fatal error: deliberate crash"), run.screen)
        XCTAssertTrue(run.screen.contains("a warning on stderr"), run.screen)
        XCTAssertTrue(run.exitStatus == 128 + SIGILL || run.exitStatus == 128 + SIGTRAP, "\(run.exitStatus)")
    }

    func testExitRestoresTheTerminal() throws {
        let run = try runChild(mode: "exit")
        XCTAssertEqual(run.exitStatus, 3)
        XCTAssertTrue(run.screen.contains("a warning on stderr"), run.screen)
    }

    /// The loop never looks at the interrupt flag: the second SIGTERM restores and kills.
    func testSecondSignalRestoresAHungProcess() throws {
        let run = try runChild(mode: "hang")
        XCTAssertEqual(run.exitStatus, 128 + SIGTERM)
        XCTAssertTrue(run.screen.contains("a warning on stderr"), run.screen)
    }

    /// The child side; skipped unless started by one of the tests above.
    func testChildProcess() throws {
        guard let mode = ProcessInfo.processInfo.environment[Self.childVariable] else {
            throw XCTSkip("helper of the other TerminalProcessTests; runs only inside their tmux pane")
        }
        let screen = try TerminalScreen.open()
        func draw(_ note: String) {
            var buffer = screen.makeBuffer()
            buffer.put("child ready pid=\(getpid()) \(note)", x: 0, y: 0, style: Style(.title, [.bold]))
            screen.present(buffer, theme: .dark)
        }
        draw("")
        // Would garble the screen; shown after the terminal is restored instead.
        FileHandle.standardError.write("a warning on stderr\n".data(using: .utf8)!)
        waiting: while true {
            if screen.interruptRequested { return }  // the pane went away: the parent gave up
            for key in screen.nextEvents(timeoutMilliseconds: 200) {
                if key == .char("x") { break waiting }
                // The first screen of a process: the resize comes through ncurses' own SIGWINCH
                // handler, chained by ours.
                if case .resize(let w, let h) = key { draw("resized \(w)x\(h)") }
            }
        }
        switch mode {
        case "crash":
            fatalError("deliberate crash for the terminal test")
        case "exit":
            exit(3)
        default:
            while true { sleep(1) }  // hung: never polls again
        }
    }

    // MARK: Running the child in tmux

    struct ChildRun {
        var exitStatus: Int32
        /// The pane's visible text after the child ended.
        var screen: String
    }

    private func runChild(mode: String) throws -> ChildRun {
        guard let tmux = Self.findExecutable("tmux") else {
            throw XCTSkip("tmux is not installed; the process-level terminal checks need it")
        }
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let socket = "saescope-terminal-test-\(getpid())-\(mode)"
        func run(_ args: [String]) -> String { Self.run(tmux, ["-L", socket, "-f", "/dev/null"] + args) }
        defer { _ = run(["kill-server"]) }

        // SWIFT_BACKTRACE=enable=no: the runtime's crash report would only slow the test down;
        // the handler chaining works the same either way.
        let command = "\(Self.childVariable)=\(mode) SWIFT_BACKTRACE=enable=no '\(exe)' "
            + "TerminalTests.TerminalProcessTests/testChildProcess; echo CHILD-EXIT:$?; sleep 120"
        // Started without a stdout pipe: the tmux server forked here would inherit it and the
        // read would never see end-of-file.
        Self.run(tmux, ["-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "70", "-y", "16", "-s", "t",
                        "sh", "-c", command], captureOutput: false)
        // -S -: the scrollback too, for a crash report longer than the pane; -J joins wrapped lines.
        func pane() -> String { run(["capture-pane", "-p", "-J", "-S", "-", "-t", "t"]) }
        func flags() -> String {
            run(["display-message", "-p", "-t", "t",
                 "#{alternate_on} #{cursor_flag} #{mouse_any_flag} #{mouse_button_flag} #{mouse_standard_flag} #{keypad_cursor_flag}"])
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }

        guard let ready = Self.waitFor(seconds: 60, { let p = pane(); return p.contains("child ready") ? p : nil }) else {
            XCTFail("the child never drew its screen:\n\(pane())")
            return ChildRun(exitStatus: -1, screen: pane())
        }
        let during = flags()
        XCTAssertEqual(during, "1 0 1 0 1 1", "alternate screen, hidden cursor, mouse reporting, keypad mode")
        if mode == "exit" {
            _ = run(["resize-window", "-t", "t", "-x", "50", "-y", "12"])
            if Self.waitFor(seconds: 30, { pane().contains("resized 50x12") ? true : nil }) == nil {
                XCTFail("no resize seen by the child:\n\(pane())")
            }
        }
        _ = run(["send-keys", "-t", "t", "x"])
        if mode == "hang" {
            let pid = ready.components(separatedBy: "pid=").last.flatMap { Int32($0.prefix { $0.isNumber }) }
            guard let pid else {
                XCTFail("no pid on the child's screen:\n\(ready)")
                return ChildRun(exitStatus: -1, screen: ready)
            }
            usleep(300_000)
            kill(pid, SIGTERM)
            usleep(300_000)
            kill(pid, SIGTERM)
        }
        guard let after = Self.waitFor(seconds: 60, { let p = pane(); return p.contains("CHILD-EXIT:") ? p : nil }) else {
            XCTFail("the child did not end:\n\(pane())")
            return ChildRun(exitStatus: -1, screen: pane())
        }
        XCTAssertEqual(flags(), "0 1 0 0 0 0", "main screen, cursor shown, mouse off, normal cursor keys")
        XCTAssertFalse(after.contains("child ready"), "the child's screen is gone:\n\(after)")
        let status = after.components(separatedBy: "CHILD-EXIT:").last.flatMap { Int32($0.prefix { $0.isNumber }) }
        return ChildRun(exitStatus: status ?? -1, screen: after)
    }

    static func waitFor<T>(seconds: Double, _ probe: () -> T?) -> T? {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            if let v = probe() { return v }
            usleep(100_000)
        }
        return nil
    }

    static func findExecutable(_ name: String) -> String? { ProcessRunner.findExecutable(name) }

    @discardableResult
    static func run(_ exe: String, _ args: [String], captureOutput: Bool = true) -> String {
        ProcessRunner.run(exe, args, captureOutput: captureOutput)
    }
}
