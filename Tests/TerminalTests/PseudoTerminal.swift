import Foundation
import Glibc
import XCTest

/// A pseudo-terminal whose slave side temporarily becomes this process's stdin and stdout, so
/// `TerminalScreen` runs against a real tty inside the test process; the test reads what curses
/// wrote from the master side and types into it.
final class PseudoTerminal {
    let master: Int32
    let slave: Int32
    private var savedStdin: Int32 = -1
    private var savedStdout: Int32 = -1

    init(width: Int, height: Int) throws {
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        guard master >= 0 else { throw PTYError("open /dev/ptmx: errno \(errno)") }
        // Linux ioctls TIOCSPTLCK and TIOCGPTN (function-like macros Swift cannot import).
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard ioctl(master, UInt(0x4004_5431), &unlock) == 0, ioctl(master, UInt(0x8004_5430), &number) == 0 else {
            throw PTYError("unlock pty: errno \(errno)")
        }
        slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw PTYError("open /dev/pts/\(number): errno \(errno)") }
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        resize(width: width, height: height)
    }

    func resize(width: Int, height: Int) {
        var ws = winsize(ws_row: UInt16(height), ws_col: UInt16(width), ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &ws)
    }

    /// Makes the slave (or `stdinFD`/`stdoutFD` when given) fds 0 and 1 until `detach`.
    func attach(stdinFD: Int32? = nil, stdoutFD: Int32? = nil) {
        fflush(nil)
        savedStdin = dup(STDIN_FILENO)
        savedStdout = dup(STDOUT_FILENO)
        dup2(stdinFD ?? slave, STDIN_FILENO)
        dup2(stdoutFD ?? slave, STDOUT_FILENO)
    }

    func detach() {
        guard savedStdout >= 0 else { return }
        fflush(nil)
        dup2(savedStdin, STDIN_FILENO)
        dup2(savedStdout, STDOUT_FILENO)
        close(savedStdin)
        close(savedStdout)
        savedStdin = -1
        savedStdout = -1
    }

    /// Types bytes into the terminal.
    func type(_ s: String) {
        let bytes = Array(s.utf8)
        _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
    }

    /// Everything written to the terminal until it has been quiet for `quiet` seconds (at most
    /// `limit` seconds), as text (invalid UTF-8 repaired).
    func readOutput(quiet: Double = 0.15, limit: Double = 3) -> String {
        var bytes: [UInt8] = []
        let start = Date()
        var lastData = Date()
        var buf = [UInt8](repeating: 0, count: 4096)
        while Date().timeIntervalSince(start) < limit {
            let n = buf.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes += buf[0..<n]
                lastData = Date()
            } else if Date().timeIntervalSince(lastData) >= quiet {
                break
            } else {
                usleep(10_000)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The slave's current termios.
    var termiosState: termios {
        var t = termios()
        tcgetattr(slave, &t)
        return t
    }

    deinit {
        detach()
        close(slave)
        close(master)
    }
}

struct PTYError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Records checks made while stdout is the pseudo-terminal (XCTest prints failures on stdout,
/// so they would land in the terminal under test); `report()` raises them once stdout is back.
final class DeferredChecks {
    private var failures: [(String, StaticString, UInt)] = []

    func isTrue(_ condition: Bool, _ message: @autoclosure () -> String = "",
                file: StaticString = #filePath, line: UInt = #line) {
        if !condition { failures.append(("check failed: " + message(), file, line)) }
    }

    func equal<T: Equatable>(_ a: T, _ b: T, _ message: @autoclosure () -> String = "",
                             file: StaticString = #filePath, line: UInt = #line) {
        if a != b {
            // dump, not description: Key's description hides a mouse event's details.
            var sa = "", sb = ""
            dump(a, to: &sa)
            dump(b, to: &sb)
            failures.append(("\(sa) is not\n\(sb) \(message())", file, line))
        }
    }

    func fail(_ message: String, file: StaticString = #filePath, line: UInt = #line) {
        failures.append((message, file, line))
    }

    func report() {
        for (m, f, l) in failures { XCTFail(m, file: f, line: l) }
        failures.removeAll()
    }
}
