import Foundation
import SAECore
import TestSupport
import XCTest

/// Runs the built `saescope` binary, as a user would, and captures what it prints.
enum SaescopeBinary {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var url: URL {
        // The test bundle sits in the products directory (Linux) or inside it (macOS .xctest).
        let bundle = Bundle(for: Marker.self).bundleURL
        let candidates = [bundle.appendingPathComponent("saescope"),
                          bundle.deletingLastPathComponent().appendingPathComponent("saescope")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    static let fixtures: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SAECoreTests/Fixtures")

    /// `directory`: the working directory to run in (default: the test's).
    static func run(_ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A fresh scratch folder holding an index of `sae` over the sharded tiny cache (top-k 3,
    /// context 2): what the export tests export from.
    static func scratchWithTinyIndex(sae: String, prefix: String) throws -> (scratch: URL, indexPath: String) {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let indexPath = scratch.appendingPathComponent("index.safetensors").path
        let result = try run(["index", "--sae", sae, "--acts", fixtures.appendingPathComponent("caches/tiny_sharded").path,
                              "--out", indexPath, "--top-k", "3", "--context", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return (scratch, indexPath)
    }

    /// The BLAS kernel family the binary's start-up settles on (`doctor --json`), asked once.
    nonisolated(unsafe) private static var binaryFamily: KernelFamily??

    /// Runs `body` with this process on the kernels the binary runs (start-up may switch
    /// OpenBLAS's family, to Haswell on Zen 4), so that a reference computed here gives the
    /// binary's bits and not another family's last bits; then switches back.
    static func withBinaryKernels<T>(_ body: () throws -> T) throws -> T {
        if binaryFamily == nil {
            let result = try run(["doctor", "--json"])
            let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            binaryFamily = .some((report?["kernels"] as? String).flatMap(KernelFamily.named))
        }
        guard let wanted = binaryFamily!, let current = KernelFamily.named(BLASLibrary.current().core), wanted != current else {
            return try body()
        }
        XCTAssertTrue(KernelSwitch.select(wanted), "this process switches to the binary's \(wanted) kernels")
        defer { KernelSwitch.select(current) }
        return try body()
    }

    private final class Marker {}
}

extension XCTestCase {
    /// Runs a Python check (numpy and friends as the reference); its last stdout line must be "ok".
    func python(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let text = PythonScript.run(script)
        XCTAssertEqual(text.split(separator: "\n").last, "ok", text, file: file, line: line)
    }
}
