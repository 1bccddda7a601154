/// Why the interactive interface could not start. Each description is one line, meant to be
/// printed as is on stderr before exiting; `message` is the same line without the program name.
public enum TerminalError: Error, Equatable, Sendable, CustomStringConvertible {
    /// stdin or stdout is not a terminal (a pipe, a file, a batch job).
    case notATerminal(stream: String)
    /// ncurses has no terminfo entry for TERM, or TERM is unset (nil).
    case unknownTerminal(term: String?)
    /// A second screen while one is open: ncurses and the signal handlers are process-wide.
    case alreadyOpen
    /// The wake pipe could not be created (out of file descriptors).
    case pipeFailed(errno: Int32)

    public var message: String {
        switch self {
        case .notATerminal(let stream):
            return "the interface needs a terminal (\(stream) is not a tty); use a subcommand such as `saescope eval` for scripts"
        case .unknownTerminal(let term?):
            return "cannot start the interface: terminal type '\(term)' is unknown to ncurses (no terminfo entry); try TERM=xterm-256color"
        case .unknownTerminal(nil):
            return "cannot start the interface: TERM is not set; try TERM=xterm-256color"
        case .alreadyOpen:
            return "the terminal interface is already open in this process"
        case .pipeFailed(let e):
            return "cannot start the interface: pipe() failed with errno \(e)"
        }
    }

    public var description: String { "saescope: " + message }
}
