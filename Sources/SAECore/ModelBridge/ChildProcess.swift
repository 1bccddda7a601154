import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process with pipes on its stdin, stdout and stderr, in a process group of its own
/// (a Ctrl-C in the terminal reaches saescope, which then ends the child, rather than both at
/// once). Reads and writes take a deadline; stderr is drained by a thread that keeps its last
/// lines for error messages. The child is killed (its whole group) by `kill()` and on deinit.
///
/// When saescope dies without ending it (SIGKILL, a crash), the child sees its stdin reach end of
/// file, or its parent change, and exits by itself (tools/saescope_model/server.py).
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let commandName: String
    private let stdinFD: Int32
    private let stdoutFD: Int32
    private let tail: StderrTail
    private var readBuffer: [UInt8] = []
    private var readPosition = 0
    private var reaped = false
    private var exitDescription: String?

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(executable: String, arguments: [String], environment: [String: String], commandName: String) throws {
        self.commandName = commandName
        signal(SIGPIPE, SIG_IGN)  // a dead child must be an error on write, not the end of saescope
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1], errors: [Int32] = [-1, -1]
        guard pipe(&input) == 0, pipe(&output) == 0, pipe(&errors) == 0 else {
            throw Failure(description: "cannot create pipes for \(commandName): \(String(cString: strerror(errno)))")
        }
        // close-on-exec, so no other child saescope starts holds these pipes open
        for fd in input + output + errors { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, errors[1], STDERR_FILENO)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var noMask = sigset_t()
        sigemptyset(&noMask)
        posix_spawnattr_setsigmask(&attributes, &noMask)

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(input[0])
        close(output[1])
        close(errors[1])
        guard status == 0 else {
            close(input[1])
            close(output[0])
            close(errors[0])
            throw Failure(description: "cannot start \(executable): \(String(cString: strerror(status)))")
        }
        self.pid = pid
        stdinFD = input[1]
        stdoutFD = output[0]
        _ = fcntl(stdinFD, F_SETFL, fcntl(stdinFD, F_GETFL) | O_NONBLOCK)
        tail = StderrTail(fd: errors[0])
        tail.start()
    }

    deinit {
        kill()
        close(stdinFD)
        close(stdoutFD)
    }

    /// The child's last stderr lines (at most `count`), oldest first.
    public func lastErrorLines(_ count: Int = 5) -> [String] { tail.lines(count) }

    /// Writes all of `bytes` before `deadline`.
    public func write(_ bytes: [UInt8], deadline: Date, during request: String) throws {
        var offset = 0
        while offset < bytes.count {
            try waitFor(fd: stdinFD, events: Int16(POLLOUT), deadline: deadline, request: request)
            let n = bytes.withUnsafeBytes { Glibc.write(stdinFD, $0.baseAddress! + offset, bytes.count - offset) }
            if n > 0 { offset += n; continue }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            throw died(during: request)
        }
    }

    /// The next line (without its newline).
    public func readLine(deadline: Date, during request: String) throws -> [UInt8] {
        var line: [UInt8] = []
        while true {
            if readPosition < readBuffer.count {
                if let newline = readBuffer[readPosition...].firstIndex(of: UInt8(ascii: "\n")) {
                    line += readBuffer[readPosition..<newline]
                    readPosition = newline + 1
                    return line
                }
                line += readBuffer[readPosition...]
                readPosition = readBuffer.count
            }
            try fill(deadline: deadline, request: request)
        }
    }

    /// Exactly `count` bytes into `destination`.
    public func readExact(into destination: UnsafeMutableRawBufferPointer, deadline: Date, during request: String) throws {
        var filled = 0
        while filled < destination.count {
            if readPosition == readBuffer.count { try fill(deadline: deadline, request: request) }
            let n = min(destination.count - filled, readBuffer.count - readPosition)
            readBuffer.withUnsafeBytes { source in
                (destination.baseAddress! + filled).copyMemory(from: source.baseAddress! + readPosition, byteCount: n)
            }
            readPosition += n
            filled += n
        }
    }

    private func fill(deadline: Date, request: String) throws {
        try waitFor(fd: stdoutFD, events: Int16(POLLIN), deadline: deadline, request: request)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(stdoutFD, $0.baseAddress, $0.count) }
            if n > 0 {
                readBuffer = Array(readBuffer[readPosition...]) + chunk[0..<n]
                readPosition = 0
                return
            }
            if n < 0 && errno == EINTR { continue }
            throw died(during: request)
        }
    }

    private func waitFor(fd: Int32, events: Int16, deadline: Date, request: String) throws {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else {
                kill()
                throw Failure(description: "\(commandName) gave no reply to `\(request)` in time; it was stopped" + stderrNote())
            }
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&pfd, 1, Int32(min(remaining, 1) * 1000) + 1)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw died(during: request) }
        }
    }

    private func died(during request: String) -> Failure {
        let status = waitForExit(timeout: 10)
        if status == nil { kill() }
        return Failure(description: "\(commandName) \(status ?? "closed its output") during `\(request)`" + stderrNote())
    }

    private func stderrNote() -> String {
        tail.finish(timeout: 1)
        guard let last = tail.lines(1).last else { return "" }
        return ": \(last)"
    }

    /// Waits up to `timeout` seconds for the child to exit; its exit described, or nil.
    @discardableResult
    public func waitForExit(timeout: Double) -> String? {
        if let exitDescription { return exitDescription }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                reaped = true
                let code = (status >> 8) & 0xff, signalNumber = status & 0x7f
                exitDescription = signalNumber == 0 ? "exited with status \(code)" : "was killed by signal \(signalNumber)"
                return exitDescription
            }
            if result < 0 { reaped = true; return "exited" }
            if Date() >= deadline { return nil }
            usleep(20_000)
        }
    }

    /// Ends the child and its process group at once and reaps it.
    public func kill() {
        guard !reaped else { return }
        Glibc.kill(-pid, SIGKILL)
        Glibc.kill(pid, SIGKILL)
        waitForExit(timeout: 5)
    }

    /// Kills a child's process group (and the child) by its id, from any thread: for ending a
    /// model process while another thread waits on it (that thread then sees it die).
    public static func terminate(processGroup pid: pid_t) {
        guard pid > 0 else { return }
        Glibc.kill(-pid, SIGKILL)
        Glibc.kill(pid, SIGKILL)
    }

    /// Closes the child's stdin (it exits at end of file) and waits for it; kills it if it lingers.
    public func finish(timeout: Double) {
        close(stdinFD)
        if waitForExit(timeout: timeout) == nil { kill() }
    }
}

/// Drains a child's stderr on a thread of its own, keeping the last lines.
final class StderrTail: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var kept: [String] = []
    private var partial: [UInt8] = []
    private let done = DispatchSemaphore(value: 0)
    private var finished = false
    private let capacity = 50

    init(fd: Int32) { self.fd = fd }

    func start() {
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 8192)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                append(buffer[0..<n])
            }
            append([UInt8(ascii: "\n")])
            close(fd)
            done.signal()
        }
        thread.start()
    }

    private func append(_ bytes: ArraySlice<UInt8>) {
        lock.lock()
        defer { lock.unlock() }
        for byte in bytes {
            // progress bars rewrite their line with carriage returns: keep the last state
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                let line = String(decoding: partial, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                if !line.isEmpty && byte == UInt8(ascii: "\n") { kept.append(line) }
                if byte == UInt8(ascii: "\n") || !partial.isEmpty { partial.removeAll(keepingCapacity: true) }
                if kept.count > capacity { kept.removeFirst(kept.count - capacity) }
            } else {
                partial.append(byte)
            }
        }
    }

    /// Waits (briefly) for the child's stderr to close, so its last words are in.
    func finish(timeout: Double) {
        lock.lock()
        let already = finished
        lock.unlock()
        guard !already else { return }
        if done.wait(timeout: .now() + timeout) == .success {
            lock.lock()
            finished = true
            lock.unlock()
        }
    }

    func lines(_ count: Int) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return Array(kept.suffix(count))
    }
}
