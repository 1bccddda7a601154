import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Runs the real binary over the whole bad-input corpus (`BadInputCorpus`), each run under a
/// timeout, and proves issue #13's reliability claims: no crash (every run exits, with 0, 2 or
/// ArgumentParser's usage code 64, never by a signal or with another code), no hang (no run
/// reaches its timeout), no destroyed file (every input's checksum is the same afterwards, and
/// no partial file is left beside them), and every error one line naming the file or option.
final class BadInputCorpusTests: XCTestCase {
    static let timeout: TimeInterval = 30

    func testCorpusNeverCrashesHangsOrDestroysFiles() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-corpus-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let corpus = try BadInputCorpus.generate(in: root) { arguments in
            let run = Self.run(arguments, home: root.path)
            XCTAssertEqual(run.status, 0, "setup: \(arguments.joined(separator: " ")): \(run.stderr)")
        }
        let before = Self.checksums(under: corpus.inputs.path)
        XCTAssertGreaterThan(before.count, 100)

        let tally = Tally()
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 3
        let started = Date()
        let home = root.path
        for testCase in corpus.cases {
            queue.addOperation {
                let run = Self.run(testCase.arguments, home: home)
                tally.record(run, name: testCase.name, problem: Self.problem(with: run, testCase).map {
                    "[\(testCase.category)] \(testCase.name): \($0)\n    saescope \(testCase.arguments.joined(separator: " "))"
                })
            }
        }
        queue.waitUntilAllOperationsAreFinished()
        // SAESCOPE_CORPUS_LOG=path writes every run's exit code and first stderr line there, to read them all.
        if let log = ProcessInfo.processInfo.environment["SAESCOPE_CORPUS_LOG"] {
            try? tally.log.joined(separator: "\n").write(toFile: log, atomically: true, encoding: .utf8)
        }
        let (failures, statusCounts, slowest, slowestName) = (tally.failures, tally.statusCounts, tally.slowest, tally.slowestName)
        let seconds = Date().timeIntervalSince(started)

        let after = Self.checksums(under: corpus.inputs.path)
        var destroyed: [String] = []
        for (path, sum) in before where after[path] != sum { destroyed.append(path) }
        let added = Set(after.keys).subtracting(before.keys).sorted()

        let perCategory = BadInputCorpus.categories.map { category in
            "\(corpus.cases.filter { $0.category == category }.count) \(category)"
        }
        let crashes = failures.filter { $0.contains("signal") || $0.contains("exit code") }.count
        let hangs = failures.filter { $0.contains("timed out") }.count
        print("bad-input corpus: \(corpus.cases.count) runs (\(perCategory.joined(separator: ", "))); "
              + "\(crashes) crashes, \(hangs) hangs, \(destroyed.count) destroyed files, \(failures.count) failures; "
              + "exit codes \(statusCounts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")); "
              + "\(before.count) input files checksummed; slowest run \(String(format: "%.1f", slowest)) s (\(slowestName)), all runs \(String(format: "%.1f", seconds)) s")
        XCTAssertTrue(failures.isEmpty, "\(failures.count) runs misbehaved:\n" + failures.prefix(30).joined(separator: "\n"))
        XCTAssertTrue(destroyed.isEmpty, "input files changed: \(destroyed)")
        XCTAssertTrue(added.isEmpty, "files appeared among the inputs: \(added)")
    }

    /// What is wrong with one run, or nil.
    static func problem(with run: TimedRun, _ testCase: BadInputCorpus.Case) -> String? {
        if run.timedOut { return "timed out after \(Int(timeout)) s (a hang)" }
        if run.signalled { return "killed by signal \(run.status): \(run.stderr.prefix(300))" }
        switch run.status {
        case 0:
            return nil
        case 64:
            // ArgumentParser's usage error: its first line says what is wrong with which option.
            return run.stderr.hasPrefix("Error: ") ? nil : "usage error without a message: \(run.stderr.prefix(300))"
        case 2:
            let lines = run.stderr.split(separator: "\n").filter { !$0.hasPrefix("saescope: warning: ") }
            guard lines.count == 1, let line = lines.first else { return "error is \(lines.count) lines: \(run.stderr.prefix(600))" }
            guard line.hasPrefix("saescope: ") else { return "error does not start with 'saescope: ': \(line.prefix(300))" }
            guard line.count <= 1500 else { return "error is \(line.count) characters long" }
            guard testCase.blame.contains(where: { !$0.isEmpty && line.contains($0) }) else {
                return "error names none of \(testCase.blame.prefix(6)): \(line.prefix(300))"
            }
            return nil
        default:
            return "exit code \(run.status) (expected 0, 2 or 64): \(run.stderr.prefix(300))"
        }
    }

    struct TimedRun {
        var status: Int32
        var signalled: Bool
        var timedOut: Bool
        var stdout: String
        var stderr: String
        var seconds: Double
    }

    /// Runs the binary with a deadline; on timeout it is killed and reported as a hang.
    static func run(_ arguments: [String], home: String) -> TimedRun {
        let process = Process()
        // SAESCOPE_CORPUS_BINARY runs the corpus against another build (e.g. one from before the fixes).
        process.executableURL = ProcessInfo.processInfo.environment["SAESCOPE_CORPUS_BINARY"].map(URL.init(fileURLWithPath:)) ?? SaescopeBinary.url
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = home
        environment["XDG_CACHE_HOME"] = home + "/xdg-cache"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        let started = Date()
        do { try process.run() } catch {
            return TimedRun(status: -1, signalled: false, timedOut: false, stdout: "", stderr: "cannot start: \(error)", seconds: 0)
        }
        let readers = DispatchGroup()
        let outData = Captured(), errData = Captured()
        DispatchQueue.global().async(group: readers) { outData.data = readAll(out.fileHandleForReading.fileDescriptor) }
        DispatchQueue.global().async(group: readers) { errData.data = readAll(err.fileHandleForReading.fileDescriptor) }
        var timedOut = false
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            kill(process.processIdentifier, SIGKILL)
            finished.wait()
        }
        readers.wait()
        return TimedRun(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
                        timedOut: timedOut, stdout: String(decoding: outData.data, as: UTF8.self),
                        stderr: String(decoding: errData.data, as: UTF8.self), seconds: Date().timeIntervalSince(started))
    }

    /// Everything until end of file; retries reads a signal interrupts (Foundation's
    /// readDataToEndOfFile traps on EINTR, which many concurrent child processes make likely).
    static func readAll(_ descriptor: Int32) -> Data {
        var result = Data()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                result.append(contentsOf: chunk[0..<count])
            } else if count < 0, errno == EINTR {
                continue
            } else {
                return result
            }
        }
    }

    /// FNV-1a of every regular file under `folder` (FIFOs, devices and symlinks are never opened).
    static func checksums(under folder: String) -> [String: UInt64] {
        var sums: [String: UInt64] = [:]
        var pending = [folder]
        while let current = pending.popLast() {
            var info = stat()
            guard lstat(current, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                for name in (try? FileManager.default.contentsOfDirectory(atPath: current)) ?? [] {
                    pending.append(current + "/" + name)
                }
            case S_IFREG:
                guard let data = FileManager.default.contents(atPath: current) else { sums[current] = 0; continue }
                sums[current] = data.withUnsafeBytes { bytes in
                    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
                    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
                    return hash
                }
            default:
                sums[current] = UInt64(info.st_mode & S_IFMT)  // a FIFO stays a FIFO
            }
        }
        return sums
    }
}

/// One pipe's bytes, written by its reader thread before the group it belongs to is waited on.
private final class Captured: @unchecked Sendable {
    var data = Data()
}

/// The runs' outcomes, recorded from the worker threads under a lock.
private final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var failures: [String] = []
    private(set) var statusCounts: [Int32: Int] = [:]
    private(set) var slowest = 0.0

    private(set) var slowestName = ""
    private(set) var log: [String] = []

    func record(_ run: BadInputCorpusTests.TimedRun, name: String, problem: String?) {
        lock.lock()
        defer { lock.unlock() }
        statusCounts[run.status, default: 0] += 1
        if run.seconds > slowest { slowestName = name }
        slowest = max(slowest, run.seconds)
        if let problem { failures.append(problem) }
        let firstLine = run.stderr.split(separator: "\n").first.map(String.init) ?? ""
        log.append("\(run.status)\t\(String(format: "%.2f", run.seconds))s\t\(name)\t\(firstLine.prefix(400))")
    }
}

/// The judge itself: each kind of misbehaviour the corpus exists to catch is caught.
final class BadInputJudgeTests: XCTestCase {
    func testJudgeFlagsEveryKindOfMisbehaviour() {
        let testCase = BadInputCorpus.Case(category: "c", name: "n", arguments: [], blame: ["ae.pt"])
        func run(_ status: Int32, _ stderr: String, signalled: Bool = false, timedOut: Bool = false) -> BadInputCorpusTests.TimedRun {
            .init(status: status, signalled: signalled, timedOut: timedOut, stdout: "", stderr: stderr, seconds: 0)
        }
        XCTAssertNil(BadInputCorpusTests.problem(with: run(0, ""), testCase))
        XCTAssertNil(BadInputCorpusTests.problem(with: run(2, "saescope: d/ae.pt: bad\n"), testCase))
        XCTAssertNil(BadInputCorpusTests.problem(with: run(2, "saescope: warning: w\nsaescope: d/ae.pt: bad\n"), testCase))
        XCTAssertNil(BadInputCorpusTests.problem(with: run(64, "Error: --top-k must be ...\nUsage: ...\n"), testCase))
        XCTAssertNotNil(BadInputCorpusTests.problem(with: run(4, "Swift runtime failure", signalled: true), testCase))
        XCTAssertNotNil(BadInputCorpusTests.problem(with: run(9, "", signalled: true, timedOut: true), testCase))
        XCTAssertNotNil(BadInputCorpusTests.problem(with: run(1, "Error: The operation could not be completed"), testCase))
        XCTAssertNotNil(BadInputCorpusTests.problem(with: run(2, "saescope: d/ae.pt: bad\nmore\n"), testCase))
        XCTAssertNotNil(BadInputCorpusTests.problem(with: run(2, "saescope: something went wrong\n"), testCase))
        XCTAssertNotNil(BadInputCorpusTests.problem(with: run(2, "saescope: ae.pt: " + String(repeating: "x", count: 2000)), testCase))
        XCTAssertNotNil(BadInputCorpusTests.problem(with: run(64, "Usage only"), testCase))
    }
}
