import XCTest
import SAECore

/// `saescope index` and `merge` as a user runs them.
final class IndexCommandTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-index-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func fixture(_ relative: String) -> String { SaescopeBinary.fixtures.appendingPathComponent(relative).path }

    /// Shards merged equal one pass, values bit for bit: a row's codes must not depend on the chunk
    /// it is encoded in, on the screened path and on the fp32 sgemm path alike. (OpenBLAS 0.3.21's
    /// AVX2 kernels, Haswell and Zen, compute a row differently by its place in the call; its
    /// AVX-512 ones do not: this is why saescope keeps Cooperlake on Zen 4, README "BLAS kernels".)
    func testShardsMergedEqualOnePass() throws {
        let sae = fixture("dictionaries/dl_autoencoder"), acts = fixture("caches/tiny_sharded")
        for extra in [[:], ["SAESCOPE_EXACT_FP32": "1"]] {
            let label = extra.isEmpty ? "default encode" : "--exact-fp32"
            let environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
            let whole = scratch.appendingPathComponent("whole.safetensors").path
            var result = try SaescopeBinary.run(["index", "--sae", sae, "--acts", acts, "--out", whole, "--json", "--force"], environment: environment)
            XCTAssertEqual(result.status, 0, result.stderr)
            let summary = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
            XCTAssertEqual(summary["tokens"] as? Int, 64)
            XCTAssertEqual(summary["features"] as? Int, 48)

            var shards: [String] = []
            for i in 0..<4 {
                let path = scratch.appendingPathComponent("shard\(i).safetensors").path
                result = try SaescopeBinary.run(["index", "--sae", sae, "--acts", acts, "--out", path, "--shard", "\(i)/4", "--force"],
                                                environment: environment)
                XCTAssertEqual(result.status, 0, result.stderr)
                shards.append(path)
            }
            let merged = scratch.appendingPathComponent("merged.safetensors").path
            result = try SaescopeBinary.run(["merge"] + shards + ["--out", merged, "--force"])
            XCTAssertEqual(result.status, 0, result.stderr)

            let a = try IndexFile.read(path: whole), b = try IndexFile.read(path: merged)
            XCTAssertEqual(a.tables.count, b.tables.count, label)
            XCTAssertEqual(a.tables.histogram, b.tables.histogram, label)
            XCTAssertEqual(a.tables.topRow, b.tables.topRow, label)
            XCTAssertEqual(a.tables.topValue, b.tables.topValue, label)
            XCTAssertEqual(a.tables.maxValue, b.tables.maxValue, label)
            XCTAssertEqual(a.tables.intervalCount, b.tables.intervalCount, label)
            XCTAssertEqual(a.tokenCount, b.tokenCount, label)
        }
    }

    func testInvalidOptionsAreUsageErrors() throws {
        let result = try SaescopeBinary.run(["index", "--sae", fixture("dictionaries/dl_topk"), "--acts", fixture("caches/tiny_f32.safetensors"),
                                             "--bins", "7", "--out", scratch.appendingPathComponent("x").path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--bins must be an even number"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("x").path))
    }

    /// Ctrl-C in the middle of a long pass leaves neither the index nor a partial file.
    func testInterruptedRunLeavesNoFile() throws {
        // A SAELens-layout dictionary and a cache big enough that indexing takes seconds.
        let d = 64, f = 4096, rows = 400_000
        let sae = try SyntheticWorkload.dictionary(inputDimension: d, featureCount: f, meanL0: 40)
        let saeDirectory = scratch.appendingPathComponent("sae")
        try FileManager.default.createDirectory(at: saeDirectory, withIntermediateDirectories: true)
        try Safetensors.write([
            .init(name: "W_enc", floats: sae.encoderWeights, shape: [d, f]), .init(name: "b_enc", floats: sae.encoderBias, shape: [f]),
            .init(name: "W_dec", floats: sae.decoderWeights, shape: [f, d]), .init(name: "b_dec", floats: sae.decoderBias, shape: [d]),
        ], to: saeDirectory.appendingPathComponent("sae_weights.safetensors").path)
        let config = #"{"architecture": "standard", "d_in": \#(d), "d_sae": \#(f), "apply_b_dec_to_input": true, "metadata": {"sae_lens_version": "6.5.0"}}"#
        try config.write(to: saeDirectory.appendingPathComponent("cfg.json"), atomically: true, encoding: .utf8)
        let cachePath = scratch.appendingPathComponent("acts.safetensors").path
        try SyntheticWorkload.writeCache(rows: rows, dimension: d, to: cachePath)
        let out = scratch.appendingPathComponent("out.index.safetensors").path

        let process = Process()
        process.executableURL = SaescopeBinary.url
        process.arguments = ["index", "--sae", saeDirectory.path, "--acts", cachePath, "--out", out]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertTrue(process.isRunning, "the pass should still be running when interrupted")
        process.interrupt()  // SIGINT, as Ctrl-C sends
        process.waitUntilExit()
        XCTAssertNotEqual(process.terminationStatus, 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix("out.index") }
        XCTAssertEqual(leftovers, [], "no index and no partial file after an interrupt")
    }
}
