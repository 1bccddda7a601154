import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// saescope started with its stdout discarded and its stderr kept, for tests that watch its
/// model process (`/proc`) and kill one or the other.
func startSaescope(_ arguments: [String]) throws -> (Process, Pipe) {
    let process = Process()
    process.executableURL = SaescopeBinary.url
    process.arguments = arguments
    let stderr = Pipe()
    process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
    process.standardError = stderr
    try process.run()
    return (process, stderr)
}

/// The first child process of `parent` (from `/proc`), waited for up to 60 s.
func waitForChild(of parent: Int32) throws -> Int32 {
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, Int32(fields[1]) == parent { return pid }
        }
        usleep(50_000)
    }
    throw XCTSkip("saescope started no child process within 60 s")
}

/// Whether `pid` runs (exists and is not a zombie).
func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
        return false
    }
    return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
}
