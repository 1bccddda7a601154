import App
import Foundation
import SAECore
import TUI
import XCTest

/// A small, exactly computable dictionary and cache for screen tests: integer activations and
/// integer weights, so every statistic is the same on any machine and BLAS.
enum AppFixture {
    static let words = ["[CLS]", "[SEP]", "the", "cat", "sat", "on", "mat", "dog", "ran", "to", "park", "a", "big", "red",
                        "ball", "and", "she", "said", "hello", "world", "bennet", "darcy", "ball", "room", "mr", "miss"]
    static let sentences = [
        "the cat sat on the mat", "the dog ran to the park", "she said hello world", "a big red ball",
        "mr darcy and miss bennet", "the ball room", "the cat and the dog", "she ran to the big park",
        "mr bennet said hello", "miss bennet sat on a red mat", "the dog sat", "darcy said hello to the cat",
    ]
    static let d = 6
    static let f = 16

    /// A deterministic integer in [lo, hi] from a pair of numbers.
    static func hashed(_ a: Int, _ b: Int, _ lo: Int, _ hi: Int) -> Int {
        var h = UInt64(a &* 7919 &+ b &* 104_729 &+ 17)
        h = (h ^ (h >> 13)) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return lo + Int(h % UInt64(hi - lo + 1))
    }

    /// The vocabulary: `words`, then any other token of `sentences` (a `##` piece continues a word).
    static func tokenizerJSON(sentences: [String] = sentences) -> Data {
        var vocab: [String] = []
        for w in words + sentences.flatMap({ $0.split(separator: " ").map(String.init) }) where !vocab.contains(w) { vocab.append(w) }
        vocab.append("[UNK]")
        let entries = vocab.enumerated().map { "\"\($0.element)\": \($0.offset)" }.joined(separator: ", ")
        let json = """
        {"added_tokens": [{"id": 0, "content": "[CLS]", "special": true}, {"id": 1, "content": "[SEP]", "special": true}],
         "normalizer": null, "pre_tokenizer": {"type": "BertPreTokenizer"},
         "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
         "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                   "vocab": {\(entries)}}}
        """
        return Data(json.utf8)
    }

    /// A session over the fixture, its index written to a fresh temporary folder when built.
    static func session(indexPath: String? = nil, sentences: [String] = sentences) throws -> DictionarySession {
        let tokenizer = try TokenizerVocabulary(jsonData: tokenizerJSON(sentences: sentences), source: "fixture-tokenizer.json")
        var vocab: [String: Int] = [:]
        for id in 0..<tokenizer.count { if let t = tokenizer.token(id) { vocab[t] = id } }
        var tokens: [Int32] = [], offsets = [0]
        for sentence in sentences {
            let ids = ["[CLS]"] + sentence.split(separator: " ").map(String.init) + ["[SEP]"]
            tokens += ids.map { Int32(vocab[$0]!) }
            offsets.append(tokens.count)
        }
        // Each token id gets an integer embedding; integer weights keep every code exact.
        var acts: [Float] = []
        for t in tokens { for k in 0..<d { acts.append(Float(hashed(Int(t), k, -2, 3))) } }
        let encoder = (0..<(d * f)).map { Float(hashed($0, 1, -1, 1)) }
        let decoder = (0..<(f * d)).map { Float(hashed($0, 2, -1, 1)) }
        let encoderBias = (0..<f).map { Float(hashed($0, 3, -2, 0)) }
        let sae = try SparseAutoencoder(
            inputDimension: d, featureCount: f, encoderWeights: encoder, encoderBias: encoderBias,
            decoderWeights: decoder, decoderBias: [Float](repeating: 0, count: d), rule: .relu, subtractsDecoderBias: false,
            provenance: DictionaryProvenance(library: "fixture", kind: "AutoEncoder", weightsPath: "fixture/ae.pt", configPath: nil))
        let tokenTensor = try tokens.withUnsafeBytes {
            try Tensor(dtype: .int32, shape: [tokens.count], buffer: ByteBuffer(copying: $0), byteOffset: 0)
        }
        let cache = try ActivationCache(label: "fixture.safetensors", acts: Tensor(float32: acts, shape: [tokens.count, d]),
                                        tokens: tokenTensor, sequenceOffsets: offsets)
        // A fixed path (the overview shows it), rewritten by every build. Index files for other
        // settings (variants) left by earlier tests would be read instead of built: removed.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-app-fixture")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if indexPath == nil {
            for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasPrefix("fixture") {
                try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
            }
        }
        let path = indexPath ?? folder.appendingPathComponent("fixture.index.safetensors").path
        return DictionarySession(saePath: "fixture/ae.pt", sae: sae, cachePath: "fixture.safetensors", cache: cache,
                                 tokenizer: tokenizer, indexPath: path)
    }

    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-app-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A controller whose index is built (in the background, in `steps` shards) and waited for.
    static func controller(steps: Int = 1, options: FeatureIndexOptions = small, sentences: [String] = sentences) throws -> AppController {
        let jobs = JobCenter()
        let controller = AppController(session: try session(sentences: sentences), indexState: .needsBuild(reason: "test"), jobs: jobs,
                                       options: options, progressiveSteps: steps)
        XCTAssertTrue(jobs.waitUntilIdle(timeout: 60))
        controller.handleJobEvents()
        return controller
    }

    static var small: FeatureIndexOptions {
        var o = FeatureIndexOptions()
        o.topK = 5
        o.context = 3
        o.intervals = 4
        o.perInterval = 2
        o.bins = 10
        return o
    }
}

extension AppController {
    func press(_ keys: Key...) { for key in keys { handle(key) } }
    func type(_ text: String) { for c in text { handle(c == "\n" ? .enter : .char(c)) } }

    /// Waits for the running jobs (a sequence's encode, say) and hands their results over.
    func finishJobs(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(jobs.waitUntilIdle(timeout: 60), file: file, line: line)
        handleJobEvents()
    }
}

func assertScreen(_ controller: AppController, width: Int, height: Int, named name: String,
                  file: StaticString = #filePath, line: UInt = #line) {
    let buffer = controller.frame(width: width, height: height)
    let path = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Snapshots/\(name).txt").path
    let record = ProcessInfo.processInfo.environment["SAESCOPE_RECORD"] == "1"
    if let failure = SnapshotText.check(SnapshotText.of(buffer, styles: false), goldenPath: path, record: record) {
        XCTFail(failure, file: file, line: line)
    }
}
