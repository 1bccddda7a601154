import Foundation

/// A program in a real terminal: a detached tmux session on a private server socket, driven
/// with send-keys and read back with capture-pane. After the program exits, the pane's shell
/// prints the exit code and `stty -a`, so tests can check that the terminal was restored.
public final class TmuxSession {
    public static let exitMarker = "__SAESCOPE_EXIT__="
    public static var tmuxPath: String? { ProcessRunner.findExecutable("tmux") }

    /// Raised when the screen never shows what a test waits for; carries the last screen.
    public struct Timeout: Error, CustomStringConvertible {
        public var what: String
        public var screen: String
        public var description: String { "timed out waiting for \(what); the screen was:\n\(screen)" }
    }

    let socket = "saescope-test-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
    let name = "t"
    let tmux: String

    /// Starts `executable arguments` in a `width` x `height` pane, in `directory`, with `environment` added.
    public init(executable: String, _ arguments: [String], width: Int = 100, height: Int = 30,
                environment: [String: String] = [:], directory: String = FileManager.default.currentDirectoryPath) throws {
        guard let tmux = Self.tmuxPath else { throw Timeout(what: "tmux (not installed)", screen: "") }
        self.tmux = tmux
        let env = ["LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"].merging(environment) { $1 }
            .map { "\($0.key)=\(Self.quote($0.value))" }.sorted().joined(separator: " ")
        let program = ([executable] + arguments).map(Self.quote).joined(separator: " ")
        let script = "cd \(Self.quote(directory)) && env \(env) \(program); echo \(Self.exitMarker)$?; stty -a; sleep 600"
        run(["new-session", "-d", "-s", name, "-x", String(width), "-y", String(height), "sh", "-c", script])
    }

    deinit { run(["kill-server"]) }

    /// Keys by tmux name (`Enter`, `Escape`, `Down`, `C-c`, `q`).
    public func press(_ keys: String...) { run(["send-keys", "-t", name] + keys) }

    /// Text typed literally.
    public func type(_ text: String) { run(["send-keys", "-t", name, "-l", text]) }

    public func resize(width: Int, height: Int) {
        run(["resize-window", "-t", name, "-x", String(width), "-y", String(height)])
    }

    /// The visible screen, wrapped lines joined.
    public func screen() -> String { run(["capture-pane", "-p", "-J", "-t", name]) }

    /// Polls until `predicate` holds for the screen, and returns that screen once it has settled
    /// (the same on a second capture 50 ms later): a capture can fall in the middle of a redraw,
    /// with the awaited text already there and the rest of the frame not yet, which made tests
    /// that check the rest of the screen fail now and then.
    @discardableResult
    public func waitFor(_ what: String, timeout: TimeInterval = 60, _ predicate: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            last = screen()
            if predicate(last) {
                usleep(50_000)
                let again = screen()
                if again == last { return last }
                if predicate(again) { last = again; continue }
            }
            usleep(100_000)
        }
        throw Timeout(what: what, screen: last)
    }

    @discardableResult
    public func waitFor(text: String, timeout: TimeInterval = 60) throws -> String {
        try waitFor("\"\(text)\"", timeout: timeout) { $0.contains(text) }
    }

    /// How the program ended, as the pane's shell reported it afterwards.
    public struct Exit {
        /// The exit status (128 + n after signal n); nil if the marker line could not be read.
        public var code: Int?
        /// Canonical input and echo on again (`stty -a` prints "-icanon"/"-echo" when off).
        public var cookedMode: Bool
        /// The screen with the exit line and the `stty -a` output.
        public var screen: String
    }

    /// Waits for the program to end and for the shell's report of its exit status and terminal mode.
    public func waitForExit(timeout: TimeInterval = 20) throws -> Exit {
        try waitFor(text: Self.exitMarker, timeout: timeout)
        let screen = try waitFor("stty -a output", timeout: 10) { $0.contains("icanon") }
        let code = screen.components(separatedBy: Self.exitMarker).last.flatMap { Int($0.prefix { $0.isNumber }) }
        let cooked = screen.contains(" icanon") && !screen.contains("-icanon")
            && screen.range(of: #"(^|\s)echo(\s|$)"#, options: .regularExpression) != nil
        return Exit(code: code, cookedMode: cooked, screen: screen)
    }

    /// The pid of the program in the pane (the pane shell's child).
    public func programPID() -> Int32? {
        let shell = run(["display-message", "-p", "-t", name, "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pgrep = ProcessRunner.findExecutable("pgrep") else { return nil }
        return ProcessRunner.run(pgrep, ["-P", shell]).split(separator: "\n").compactMap { Int32($0) }.first
    }

    @discardableResult
    private func run(_ arguments: [String]) -> String {
        ProcessRunner.run(tmux, ["-L", socket, "-f", "/dev/null"] + arguments)
    }

    private static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
