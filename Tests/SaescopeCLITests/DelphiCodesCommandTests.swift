import XCTest
import SAECore

/// `saescope index --codes` as a user runs it on a delphi latent cache: the index file equals the
/// one `--sae --acts` writes (tables byte for byte); broken caches are one line, exit 2.
final class DelphiCodesCommandTests: XCTestCase {
    let fixtures = SaescopeBinary.fixtures
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-delphi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func fixture(_ relative: String) -> String { fixtures.appendingPathComponent(relative).path }

    func testCodesIndexFileEqualsTheEncodedOne() throws {
        let encoded = scratch.appendingPathComponent("encoded.safetensors").path
        let fromCodes = scratch.appendingPathComponent("codes.safetensors").path
        let a = try SaescopeBinary.run(["index", "--sae", fixture("delphi/dictionary"), "--acts", fixture("delphi/acts.safetensors"),
                                        "--out", encoded, "--top-k", "6", "--context", "2"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let b = try SaescopeBinary.run(["index", "--codes", fixture("delphi/run/latents/layers.3"), "--sae", fixture("delphi/dictionary"),
                                        "--out", fromCodes, "--top-k", "6", "--context", "2"])
        XCTAssertEqual(b.status, 0, b.stderr)
        let x = try Safetensors.read(path: encoded), y = try Safetensors.read(path: fromCodes)
        // The core statistics (position buckets, weight cosines) need the activations: only the encoded index has them.
        for name in x.tensors.keys.sorted() where !name.hasPrefix("metric_") && !name.hasPrefix("core_") {
            XCTAssertTrue(x.tensors[name]!.rawBytes.elementsEqual(y.tensors[name]!.rawBytes), "table \(name) differs")
        }
        XCTAssertEqual(try IndexFile.read(path: fromCodes).inputDimension, 16)
    }

    /// `bench codes --keep` leaves its synthetic cache for profiling: delphi's layout, every code
    /// indexed by `index --codes` (8 x 16 tokens, 4 codes each, over 64 latents in 4 splits).
    func testBenchKeepWritesACacheThatIndexes() throws {
        let kept = scratch.appendingPathComponent("bench").path
        let written = try SaescopeBinary.run(["bench", "codes", "--keep", kept, "--sequences", "8", "--ctx", "16", "--f", "64", "--l0", "4", "--splits", "4"])
        XCTAssertEqual(written.status, 0, written.stderr)
        let splits = try FileManager.default.contentsOfDirectory(atPath: kept + "/latents/layers.0").filter { $0.hasSuffix(".safetensors") }
        XCTAssertEqual(splits.sorted(), ["0_15.safetensors", "16_31.safetensors", "32_47.safetensors", "48_63.safetensors"])
        let index = scratch.appendingPathComponent("bench.safetensors").path
        let indexed = try SaescopeBinary.run(["index", "--codes", kept, "--out", index])
        XCTAssertEqual(indexed.status, 0, indexed.stderr)
        let tables = try IndexFile.read(path: index).tables
        XCTAssertEqual(tables.featureCount, 64)
        XCTAssertEqual(tables.count.reduce(0, +), 8 * 16 * 4)
    }

    /// A copy of the fixture's hookpoint folder to break.
    private func copyOfSplits() throws -> URL {
        let target = scratch.appendingPathComponent("layers.3")
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("delphi/run/latents/layers.3"), to: target)
        return target
    }

    private func assertBadInput(_ path: String, mentions fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try SaescopeBinary.run(["index", "--codes", path, "--out", scratch.appendingPathComponent("out.safetensors").path])
        XCTAssertEqual(result.status, 2, "exit code; stderr: \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stdout, "", file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "exactly one line: \(result.stderr)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(result.stderr.contains(fragment), "'\(fragment)' missing from: \(result.stderr)", file: file, line: line)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("out.safetensors").path), "no index is written", file: file, line: line)
    }

    /// Options about encoding do not apply to codes read from a latent cache: a usage error, not
    /// silence (with --exact-fp32 accepted, the index read as if its codes were fp32 encodes).
    func testEncodingOptionsAreRefusedWithCodes() throws {
        let out = scratch.appendingPathComponent("out.safetensors").path
        for option in ["--exact-fp32", "--exclude-special"] {
            let result = try SaescopeBinary.run(["index", "--codes", fixture("delphi/run"), option, "--out", out])
            XCTAssertEqual(result.status, 64, "\(option): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("\(option) needs --acts"), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
    }

    func testGapOverlapAndOutsideLocationsAreOneLineExitTwo() throws {
        let splits = try copyOfSplits()
        let fm = FileManager.default
        // A missing split leaves latents 6...11 uncovered.
        try fm.moveItem(at: splits.appendingPathComponent("6_11.safetensors"), to: scratch.appendingPathComponent("aside.safetensors"))
        try assertBadInput(splits.path, mentions: ["12_18.safetensors", "latents 6...11 uncovered"])
        // A split claiming 6...13 overlaps 12_18.
        try fm.moveItem(at: scratch.appendingPathComponent("aside.safetensors"), to: splits.appendingPathComponent("6_13.safetensors"))
        try assertBadInput(splits.path, mentions: ["12_18.safetensors", "overlaps", "12...13"])
        try fm.moveItem(at: splits.appendingPathComponent("6_13.safetensors"), to: splits.appendingPathComponent("6_11.safetensors"))

        // A location whose batch row is past the token matrix (24 sequences).
        let path = splits.appendingPathComponent("19_24.safetensors").path
        let original = try Safetensors.read(path: path)
        var locations = try original.require("locations").int64s().map { UInt16($0) }
        locations[3 * 5] = 24
        let activations = try original.require("activations")
        let tokens = try original.require("tokens")
        let halfBits = Array(UnsafeRawBufferPointer(activations.rawBytes).bindMemory(to: UInt16.self))
        try Safetensors.write(arrays: [
            .init("locations", .uint16, locations.count > 0 ? [locations.count / 3, 3] : [0, 3], locations),
            .init("activations", .float16, activations.shape, halfBits),
            .init("tokens", .int64, tokens.shape, try tokens.int64s()),
        ], metadata: [:], to: path)
        try assertBadInput(splits.path, mentions: ["19_24.safetensors", "location 5", "outside the token matrix [24, 16]"])

        try assertBadInput(fixture("delphi/dictionary"), mentions: ["no delphi splits here"])
    }
}
