import Foundation
import SAECore
import XCTest

/// Issue #13 item 1: an index records canonical absolute paths, so it is used from any working
/// directory; token text comes from the tokenizer beside the cache's real location; without one,
/// one warning names the file looked for; an index of an older saescope (relative paths) opens.
final class ProvenancePathsTests: XCTestCase {
    var scratch: URL!
    var data: URL { scratch.appendingPathComponent("data") }

    /// scratch/data/dicts/A (a dictionary) and scratch/data/cache/heldout.safetensors with the
    /// tokenizer.json its metadata names beside it.
    override func setUpWithError() throws {
        let manager = FileManager.default
        scratch = URL(fileURLWithPath: CanonicalPath.of(manager.temporaryDirectory.appendingPathComponent("saescope-paths-\(UUID().uuidString)").path))
        try manager.createDirectory(at: data.appendingPathComponent("dicts"), withIntermediateDirectories: true)
        try manager.createDirectory(at: data.appendingPathComponent("cache"), withIntermediateDirectories: true)
        let fixtures = SaescopeBinary.fixtures
        try manager.copyItem(at: fixtures.appendingPathComponent("dictionaries/dl_topk"), to: data.appendingPathComponent("dicts/A"))
        try manager.copyItem(at: fixtures.appendingPathComponent("caches/tiny_f32.safetensors"), to: data.appendingPathComponent("cache/heldout.safetensors"))
        try manager.copyItem(at: fixtures.appendingPathComponent("caches/tokenizer.json"), to: data.appendingPathComponent("cache/tokenizer.json"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// `cd data && saescope index ... --out ../a.idx`, as the issue did it.
    private func indexFromDataDirectory() throws {
        let result = try SaescopeBinary.run(["index", "--sae", "dicts/A", "--acts", "cache/heldout.safetensors", "--out", "../a.idx",
                                             "--top-k", "3", "--context", "2"], directory: data)
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    /// Exports features 0-7 as a Neuronpedia batch directory from the parent directory; returns the
    /// exemplar tokens and stderr. (A single json file is exactly the runner's batch, which has no
    /// place for the dictionary's path; the batch directory's run_settings.json has `sae_path`.)
    private func exportFromParent(index: String = "a.idx") throws -> (tokens: [String], stderr: String) {
        let result = try SaescopeBinary.run(["export", "--sae", "data/dicts/A", "--index", index, "--features", "0-7",
                                             "--out", "batches", "--batch-size", "100", "--force"], directory: scratch)
        XCTAssertEqual(result.status, 0, result.stderr)
        let folder = scratch.appendingPathComponent("batches")
        let settings = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("run_settings.json"))) as! [String: Any]
        XCTAssertEqual(settings["sae_path"] as? String, data.appendingPathComponent("dicts/A").path, "exports record the canonical path")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("batch-0.json"))) as! [String: Any]
        let features = object["features"] as! [[String: Any]]
        let tokens = features.flatMap { ($0["activations"] as! [[String: Any]]).flatMap { $0["tokens"] as! [String] } }
        XCTAssertFalse(tokens.isEmpty)
        return (tokens, result.stderr)
    }

    private func isIdPlaceholder(_ token: String) -> Bool { token.hasPrefix("<") && token.hasSuffix(">") && Int(token.dropFirst().dropLast()) != nil }

    func testIndexBuiltInASubdirectoryExportsTokenTextFromTheParent() throws {
        try indexFromDataDirectory()
        let index = try IndexFile.read(path: scratch.appendingPathComponent("a.idx").path)
        XCTAssertEqual(index.provenance.cachePath, data.appendingPathComponent("cache/heldout.safetensors").path)
        XCTAssertEqual(index.provenance.saePath, data.appendingPathComponent("dicts/A").path)
        XCTAssertTrue(index.provenance.saeFingerprint.hasPrefix(data.appendingPathComponent("dicts/A/ae.pt").path + ":"), index.provenance.saeFingerprint)
        XCTAssertNil(index.provenance.resolutionNote)
        let sae = try DictionaryLoader.load(path: data.appendingPathComponent("dicts/A").path)
        let cache = try ActivationCache(path: data.appendingPathComponent("cache/heldout.safetensors").path)
        XCTAssertNil(index.provenance.staleness(sae: sae, cache: cache), "not stale from another working directory")

        let (tokens, stderr) = try exportFromParent()
        XCTAssertEqual(stderr, "")
        XCTAssertFalse(tokens.contains(where: isIdPlaceholder), "token text, not ids: \(tokens.prefix(12))")
    }

    func testAMissingTokenizerIsOneWarningNamingTheFileLookedFor() throws {
        try indexFromDataDirectory()
        try FileManager.default.removeItem(at: data.appendingPathComponent("cache/tokenizer.json"))
        let (tokens, stderr) = try exportFromParent()
        let expected = data.appendingPathComponent("cache/tokenizer.json").path
        XCTAssertEqual(stderr.components(separatedBy: "\n").filter { !$0.isEmpty },
                       ["saescope: warning: no tokenizer at \(expected) (named by the cache \(data.appendingPathComponent("cache/heldout.safetensors").path)), so tokens show as <id> (give --tokenizer)"])
        XCTAssertTrue(tokens.contains(where: isIdPlaceholder))
    }

    /// An index written before canonical paths: relative paths, resolved against the index
    /// file's directory (then the working directory), with a note saying so.
    func testAnOlderIndexWithRelativePathsStillOpens() throws {
        try indexFromDataDirectory()
        let path = scratch.appendingPathComponent("a.idx").path
        var index = try IndexFile.read(path: path)
        let prefix = scratch.path + "/"
        func relative(_ p: String) -> String { p.hasPrefix(prefix) ? String(p.dropFirst(prefix.count)) : p }
        index.provenance.saePath = relative(index.provenance.saePath)
        index.provenance.cachePath = relative(index.provenance.cachePath)
        index.provenance.saeFingerprint = FileFingerprint.mapPaths(index.provenance.saeFingerprint, relative)
        index.provenance.cacheFingerprint = FileFingerprint.mapPaths(index.provenance.cacheFingerprint, relative)
        XCTAssertEqual(index.provenance.cachePath, "data/cache/heldout.safetensors")
        let old = scratch.appendingPathComponent("old.idx").path
        try IndexFile.write(index, to: old)

        // Read from elsewhere: resolved against the index file's directory.
        let reread = try IndexFile.read(path: old)
        XCTAssertEqual(reread.provenance.cachePath, data.appendingPathComponent("cache/heldout.safetensors").path)
        XCTAssertTrue(reread.provenance.resolutionNote?.contains("resolved against the index file's directory \(scratch.path)") == true,
                      reread.provenance.resolutionNote ?? "no note")
        let sae = try DictionaryLoader.load(path: data.appendingPathComponent("dicts/A").path)
        let cache = try ActivationCache(path: data.appendingPathComponent("cache/heldout.safetensors").path)
        XCTAssertNil(reread.provenance.staleness(sae: sae, cache: cache))

        let (tokens, stderr) = try exportFromParent(index: "old.idx")
        XCTAssertFalse(tokens.contains(where: isIdPlaceholder))
        XCTAssertTrue(stderr.contains("old.idx records relative paths (an older saescope); resolved against the index file's directory"), stderr)

        // The same file one folder down: the paths are not beside it, but in the working directory.
        let elsewhere = scratch.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: old, toPath: elsewhere.appendingPathComponent("old.idx").path)
        let (moved, movedErr) = try exportFromParent(index: "elsewhere/old.idx")
        XCTAssertFalse(moved.contains(where: isIdPlaceholder))
        XCTAssertTrue(movedErr.contains("elsewhere/old.idx records relative paths (an older saescope); resolved against the working directory \(scratch.path)"), movedErr)
    }
}
