import Foundation
import SAECore
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The bad-input corpus of issue #13: files and command lines a careless or hostile user could
/// hand saescope, generated deterministically (seeded, no network, no Python) into a scratch
/// folder. `inputs/` holds every file the runs read (checksummed before and after: none may
/// change); `out/` is where runs may write.
///
/// Categories: pickle memo bombs, overflowing numbers in every numeric option, overflowing
/// numbers in every dictionary config field, tampered index fields (every tensor, every
/// metadata field), FIFOs and devices given as every kind of input, overwrite attempts, and
/// transcoders and targets that contradict their shapes (BadInputCorpus+Transcoders.swift).
struct BadInputCorpus {
    struct Case {
        var category: String
        var name: String
        var arguments: [String]
        /// Strings of which a one-line error must contain at least one (the files and options involved).
        var blame: [String]
    }

    let root: URL
    var inputs: URL { root.appendingPathComponent("inputs") }
    var out: URL { root.appendingPathComponent("out") }
    private(set) var cases: [Case] = []
    private var outputCounter = 0

    static let categories = ["memo bombs", "option numbers", "config fields", "tampered index fields", "FIFOs and devices", "overwrite attempts", "transcoders and targets"]

    static let hugeIntegers = ["9223372036854775807", "-9223372036854775808", "9223372036854775808", "-1", "0"]
    static let hostileFloats = ["nan", "inf", "-inf", "1e400", "-1", "3.5e38"]

    /// Builds the corpus; `index` is the binary run once to make the valid index the tamperings start from.
    static func generate(in root: URL, buildIndex: ([String]) throws -> Void) throws -> BadInputCorpus {
        var corpus = BadInputCorpus(root: root)
        let manager = FileManager.default
        try manager.createDirectory(at: corpus.inputs, withIntermediateDirectories: true)
        try manager.createDirectory(at: corpus.out, withIntermediateDirectories: true)
        let fixtures = SaescopeBinary.fixtures
        for (from, to) in [("dictionaries/dl_topk", "dl"), ("dictionaries/dl_autoencoder", "dl2"), ("dictionaries/sparsify_topk", "sparsify"),
                           ("dictionaries/saelens_topk", "saelens"), ("caches/tiny_f32.safetensors", "cache.safetensors"),
                           ("caches/tokenizer.json", "tokenizer.json"), ("probes/cities.csv", "cities.csv"),
                           ("probes/cities.safetensors", "cities.safetensors"), ("logits/cli_w_u.safetensors", "w_u.safetensors"),
                           ("dictionaries/saelens_skip_transcoder", "tcoder"), ("dictionaries/sparsify_transcoder", "sptcoder"),
                           ("caches/tiny_targets_d12.safetensors", "targets.safetensors")] {
            try manager.copyItem(at: fixtures.appendingPathComponent(from), to: corpus.inputs.appendingPathComponent(to))
        }
        for (name, shard) in [("index.safetensors", "0/1"), ("shard0.safetensors", "0/2"), ("shard1.safetensors", "1/2")] {
            try buildIndex(["index", "--sae", corpus.input("dl"), "--acts", corpus.input("cache.safetensors"),
                            "--out", corpus.input(name), "--top-k", "3", "--context", "2", "--shard", shard])
        }
        corpus.addMemoBombs()
        corpus.addOptionNumbers()
        try corpus.addConfigFields()
        try corpus.addTamperedIndexes()
        try corpus.addFIFOs()
        try corpus.addOverwriteAttempts()
        try corpus.addTranscodersAndTargets()
        return corpus
    }

    func input(_ name: String) -> String { inputs.appendingPathComponent(name).path }

    mutating func output(_ suffix: String) -> String {
        outputCounter += 1
        return out.appendingPathComponent("o\(outputCounter)\(suffix)").path
    }

    mutating func add(_ category: String, _ name: String, _ arguments: [String], blame: [String] = []) {
        // Every path the run reads or writes may be the one named.
        var names = blame
        for argument in arguments where argument.contains("/") {
            names.append((argument as NSString).lastPathComponent)
        }
        cases.append(Case(category: category, name: name, arguments: arguments, blame: names))
    }

    // MARK: Pickle memo bombs

    mutating func addMemoBombs() {
        let config = (try? Data(contentsOf: inputs.appendingPathComponent("dl/config.json"))) ?? Data()
        var bombs: [(String, [UInt8])] = [
            ("shared dict x2^24", MemoBomb.sharedDict(levels: 24, keyLength: 1, leaf: .stridedTensor(rows: 4096))),
            ("shared dict x2^20, 200-byte keys", MemoBomb.sharedDict(levels: 20, keyLength: 200, leaf: .stridedTensor(rows: 4096))),
            ("shared dict x2^60", MemoBomb.sharedDict(levels: 60, keyLength: 1, leaf: .stridedTensor(rows: 16))),
            ("shared string leaf x2^30", MemoBomb.sharedDict(levels: 30, keyLength: 1, leaf: .string(4000))),
            ("shared list x2^40", Self.sharedListBomb(levels: 40)),
            ("64 distinct 16 MiB strided views", Self.distinctStridedViews(count: 64)),
        ]
        // Seeded random memo traffic: GETs of earlier dicts in random order.
        var random = SplitMix64(seed: 13)
        for round in 0..<4 { bombs.append(("random memo graph \(round)", Self.randomMemoGraph(&random, nodes: 48))) }
        for (position, (name, bytes)) in bombs.enumerated() {
            let folder = inputs.appendingPathComponent("bomb\(position)")
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try? Data(bytes).write(to: folder.appendingPathComponent("ae.pt"))
            try? config.write(to: folder.appendingPathComponent("config.json"))
            add("memo bombs", "inspect \(name)", ["inspect", folder.path])
            if position % 3 == 0 {  // the same reader behind another command
                add("memo bombs", "eval \(name)", ["eval", "--sae", folder.path, "--acts", input("cache.safetensors")])
            }
        }
    }

    static func sharedListBomb(levels: Int) -> [UInt8] {
        var pickle = PickleWriter()
        pickle.proto(2)
        pickle.emptyDict()
        pickle.string("l")
        pickle.emptyList()
        pickle.binput(0)
        for level in 1...levels {
            pickle.emptyList()
            pickle.mark()
            pickle.binget(UInt8(level - 1))
            pickle.binget(UInt8(level - 1))
            pickle.bytes.append(0x65)  // APPENDS
            pickle.binput(UInt8(level))
        }
        pickle.setItem()
        pickle.stop()
        return TestZip.torchCheckpoint(pickle: pickle.bytes, storages: [:])
    }

    /// Many different stride-0 views of one small storage, each 16 MiB once copied.
    static func distinctStridedViews(count: Int) -> [UInt8] {
        var pickle = PickleWriter()
        pickle.proto(2)
        pickle.emptyDict()
        for position in 0..<count {
            pickle.string("w\(position)")
            pickle.tensorV2(storage: "FloatStorage", key: "0", numel: count, offset: position, size: [4096, 1024], stride: [0, 0])
            pickle.setItem()
        }
        pickle.stop()
        return TestZip.torchCheckpoint(pickle: pickle.bytes, storages: ["0": [UInt8](repeating: 0, count: 4 * count)])
    }

    /// `nodes` dicts, each holding 2 to 4 random earlier ones (or a strided tensor) under random keys.
    static func randomMemoGraph(_ random: inout SplitMix64, nodes: Int) -> [UInt8] {
        var pickle = PickleWriter()
        pickle.proto(2)
        pickle.emptyDict()
        pickle.string("t")
        pickle.tensorV2(storage: "FloatStorage", key: "0", numel: 1, offset: 0, size: [1024, 1024], stride: [0, 0])
        pickle.setItem()
        pickle.binput(0)
        for node in 1..<nodes {
            pickle.emptyDict()
            for child in 0..<(2 + Int(random.next() % 3)) {
                pickle.string("k\(child)")
                pickle.binget(UInt8(Int(random.next() % UInt64(node))))
                pickle.setItem()
            }
            pickle.binput(UInt8(node))
        }
        pickle.stop()
        return TestZip.torchCheckpoint(pickle: pickle.bytes, storages: ["0": [0, 0, 0x80, 0x3F]])
    }

    // MARK: Numbers in options

    mutating func addOptionNumbers() {
        let dl = input("dl"), cache = input("cache.safetensors"), index = input("index.safetensors"), cities = input("cities.csv")
        let category = "option numbers"
        for option in ["--top-k", "--context", "--intervals", "--per-interval", "--bins", "--max-tokens", "--first-token"] {
            for value in Self.hugeIntegers {
                add(category, "index \(option) \(value)", ["index", "--sae", dl, "--acts", cache, "--out", output(".idx"), option, value], blame: [option, value])
            }
        }
        for value in ["18446744073709551615", "18446744073709551616", "-1"] {
            add(category, "index --seed \(value)", ["index", "--sae", dl, "--acts", cache, "--out", output(".idx"), "--seed", value], blame: ["--seed"])
        }
        for value in Self.hostileFloats {
            add(category, "index --min-act \(value)", ["index", "--sae", dl, "--acts", cache, "--out", output(".idx"), "--min-act", value], blame: ["--min-act"])
        }
        for shard in ["9223372036854775806/9223372036854775807", "0/9223372036854775807", "9223372036854775807/1", "0/0", "-1/2",
                      "3/-4", "1/1", "9223372036854775808/2", "1/2/3", "/", "x/y"] {
            add(category, "index --shard \(shard)", ["index", "--sae", dl, "--acts", cache, "--out", output(".idx"), "--shard", shard], blame: ["--shard"])
        }
        for (first, maxTokens) in [("1", "9223372036854775807"), ("9223372036854775807", "9223372036854775807"), ("9223372036854775806", "2")] {
            add(category, "index window \(first)+\(maxTokens)", ["index", "--sae", dl, "--acts", cache, "--out", output(".idx"),
                                                                  "--first-token", first, "--max-tokens", maxTokens], blame: ["--first-token", "--max-tokens"])
        }
        for value in Self.hugeIntegers {
            add(category, "eval --max-tokens \(value)", ["eval", "--sae", dl, "--acts", cache, "--max-tokens", value], blame: ["--max-tokens"])
            add(category, "compare --top \(value)", ["compare", "--a", dl, "--b", input("dl2"), "--top", value], blame: ["--top"])
            add(category, "compare --max-tokens \(value)", ["compare", "--a", dl, "--b", input("dl2"), "--acts", cache, "--max-tokens", value], blame: ["--max-tokens"])
            add(category, "pca --components \(value)", ["pca", "--data", cities, "--components", value], blame: ["--components"])
            add(category, "pca --offset \(value)", ["pca", "--data", cities, "--offset", value], blame: ["--offset"])
            add(category, "probe --align \(value)", ["probe", "--data", cities, "--sae", dl, "--align", value, "--method", "dim"], blame: ["--align"])
            add(category, "export --features \(value)", ["export", "--sae", dl, "--index", index, "--features", value, "--out", output(".json")], blame: [value])
        }
        for value in Self.hostileFloats + ["0.9,,", "2", ""] {
            add(category, "compare --thresholds \(value)", ["compare", "--a", dl, "--b", input("dl2"), "--thresholds", value], blame: ["--thresholds"])
        }
        for features in [" -1", "1-", "-1", "1--2", "1-2-3", "3-1", "0-9223372036854775807", "9223372036854775807-9223372036854775807",
                         "-9223372036854775808", "1,,2", "+1", "1e3", "٣"] {
            add(category, "export --features '\(features)'", ["export", "--sae", dl, "--index", index, "--features", features, "--out", output(".json")],
                blame: [features.trimmingCharacters(in: .whitespaces), "feature"])
        }
        // bench index: only values that must be refused (valid large shapes would run a real benchmark).
        for option in ["--d", "--f", "--n", "--chunk"] {
            for value in ["9223372036854775807", "9223372036854775806", "-9223372036854775808", "-1", "0", "9223372036854775808"] {
                add(category, "bench index \(option) \(value)", ["bench", "index", option, value], blame: [option])
            }
        }
        for option in ["--d", "--f", "--f-b", "--top", "--row-block", "--column-block"] {
            for value in ["9223372036854775807", "-9223372036854775808", "-1", "0"] {
                add(category, "bench compare \(option) \(value)", ["bench", "compare", option, value], blame: [option])
            }
        }
        for value in Self.hostileFloats + ["0", "1e18"] {
            add(category, "bench index --l0 \(value)", ["bench", "index", "--l0", value], blame: ["--l0"])
        }
    }

    // MARK: Numbers in config fields

    mutating func addConfigFields() throws {
        let values: [Any] = [9.0e15, -1, 0, 1e300, 4.5, "16", NSNull()]
        let configs: [(folder: String, file: String, keys: [String], nested: String?)] = [
            ("sparsify/layers.0", "cfg.json", ["d_in", "num_latents", "expansion_factor", "k"], nil),
            ("saelens", "cfg.json", ["d_in", "d_sae", "k"], nil),
            ("tcoder", "cfg.json", ["d_in", "d_out", "d_sae"], nil),
            ("dl", "config.json", ["activation_dim", "dict_size", "k"], "trainer"),
        ]
        for config in configs {
            let original = try JSONSerialization.jsonObject(with: Data(contentsOf: inputs.appendingPathComponent(config.folder + "/" + config.file))) as! [String: Any]
            let source = inputs.appendingPathComponent(config.folder.split(separator: "/").first.map(String.init)!)
            for key in config.keys {
                for (position, value) in values.enumerated() {
                    let copy = inputs.appendingPathComponent("cfg-\(config.folder.prefix(4))-\(key)-\(position)")
                    try FileManager.default.copyItem(at: source, to: copy)
                    var edited = original
                    if let nested = config.nested {
                        var inner = edited[nested] as! [String: Any]
                        inner[key] = value
                        edited[nested] = inner
                    } else {
                        edited[key] = value
                    }
                    let sub = config.folder.contains("/") ? "/" + config.folder.split(separator: "/", maxSplits: 1)[1] : ""
                    try JSONSerialization.data(withJSONObject: edited).write(to: URL(fileURLWithPath: copy.path + sub + "/" + config.file))
                    // Also the sparsify expansion path: num_latents 0 makes d_in x expansion_factor the feature count.
                    if config.folder.hasPrefix("sparsify"), key != "num_latents" {
                        edited["num_latents"] = 0
                        try JSONSerialization.data(withJSONObject: edited).write(to: URL(fileURLWithPath: copy.path + sub + "/" + config.file))
                    }
                    add("config fields", "\(config.file) \(key)=\(value)", ["inspect", copy.path + sub], blame: [config.file, key])
                }
            }
        }
        // d_in x expansion_factor that overflows, each within JSON's exact integers.
        let copy = inputs.appendingPathComponent("cfg-sparsify-product")
        try FileManager.default.copyItem(at: inputs.appendingPathComponent("sparsify"), to: copy)
        let path = copy.appendingPathComponent("layers.0/cfg.json")
        var edited = try JSONSerialization.jsonObject(with: Data(contentsOf: path)) as! [String: Any]
        edited["d_in"] = 3_000_000_000_000
        edited["expansion_factor"] = 4_000_000_000_000
        edited["num_latents"] = 0
        try JSONSerialization.data(withJSONObject: edited).write(to: path)
        add("config fields", "sparsify d_in x expansion_factor overflows", ["inspect", copy.appendingPathComponent("layers.0").path], blame: ["cfg.json"])
    }

    // MARK: Tampered index fields

    mutating func addTamperedIndexes() throws {
        // Shard 1 of 2 is tampered, so that merging it with shard 0 folds its tables in.
        let original = try Data(contentsOf: URL(fileURLWithPath: input("shard1.safetensors")))
        let file = try SafetensorsEditor(original)
        var variants: [(String, Data)] = []
        let hostile: [String: [(String, [UInt8])]] = [
            "F32": [("nan", Self.bytes(Float.nan)), ("inf", Self.bytes(Float.infinity)), ("-1", Self.bytes(Float(-1)))],
            "F64": [("nan", Self.bytes(Double.nan)), ("1e300", Self.bytes(1e300)), ("-1", Self.bytes(Double(-1)))],
            "I64": [("-1", Self.bytes(Int64(-1))), ("max", Self.bytes(Int64.max)), ("min", Self.bytes(Int64.min))],
            "I32": [("-1", Self.bytes(Int32(-1))), ("max", Self.bytes(Int32.max)), ("min", Self.bytes(Int32.min))],
            "U8": [("255", [255])],
        ]
        for tensor in file.tensors {
            for (label, value) in hostile[tensor.dtype] ?? [] {
                variants.append(("\(tensor.name)=\(label) everywhere", file.filling(tensor, with: value, everywhere: true)))
                variants.append(("\(tensor.name)[0]=\(label)", file.filling(tensor, with: value, everywhere: false)))
            }
        }
        let metadata = file.metadata
        func options(_ change: (inout [String: Any]) -> Void) -> String {
            var object = (try? JSONSerialization.jsonObject(with: Data((metadata["options"] ?? "{}").utf8))) as? [String: Any] ?? [:]
            change(&object)
            return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }
        func provenance(_ change: (inout [String: Any]) -> Void) -> String {
            var object = (try? JSONSerialization.jsonObject(with: Data((metadata["provenance"] ?? "{}").utf8))) as? [String: Any] ?? [:]
            change(&object)
            return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }
        let metadataEdits: [(String, String, String)] = [
            ("input_dimension", "9223372036854775807", "input_dimension huge"),
            ("input_dimension", "4611686018427387904", "input_dimension 2^62"),
            ("input_dimension", "-16", "input_dimension negative"),
            ("input_dimension", "0", "input_dimension zero"),
            ("saescope_index_version", "2", "another version"),
            ("options", options { $0["topK"] = 9_000_000_000_000_000 }, "options topK huge"),
            ("options", options { $0["bins"] = 0 }, "options bins 0"),
            ("options", options { $0["intervals"] = 3 }, "options intervals odd"),
            ("options", options { $0["context"] = -1 }, "options context -1"),
            ("options", options { $0["maxTokens"] = -5 }, "options maxTokens -5"),
            ("options", options { $0["shardCount"] = 0 }, "options shardCount 0"),
            ("options", "{", "options malformed"),
            ("provenance", provenance { $0["firstRow"] = -1 }, "provenance firstRow -1"),
            ("provenance", provenance { $0["endRow"] = 9_000_000_000_000_000 }, "provenance endRow huge"),
            ("provenance", provenance { $0["shards"] = [-1] }, "provenance shard -1"),
            ("provenance", provenance { $0["shards"] = [1, 1] }, "provenance shard twice"),
            ("provenance", provenance { $0["shards"] = [0] }, "provenance shard 0 (given twice)"),
            ("provenance", provenance { $0["shardCount"] = 0 }, "provenance shardCount 0"),
            ("provenance", provenance { $0["shardCount"] = 9_000_000_000_000_000_000 }, "provenance shardCount huge"),
            ("provenance", provenance { $0["shards"] = []; $0["shardCount"] = 9_000_000_000_000_000_000 }, "provenance no shards"),
            ("provenance", provenance { $0["cachePath"] = String(repeating: "x", count: 70_000) }, "provenance cachePath 70 KB"),
        ]
        for (key, value, label) in metadataEdits {
            var edited = metadata
            edited[key] = value
            variants.append((label, file.withMetadata(edited)))
        }
        let valid = input("shard0.safetensors")
        for (position, (label, data)) in variants.enumerated() {
            let path = input("tampered-\(position).safetensors")
            try data.write(to: URL(fileURLWithPath: path))
            let runs: [(String, [String])] = [
                ("export md", ["export", "--sae", input("dl"), "--index", path, "--features", "all", "--out", output(".md")]),
                ("export json", ["export", "--sae", input("dl"), "--index", path, "--features", "all", "--out", output(".json")]),
                ("merge", ["merge", valid, path, "--out", output(".idx"), "--allow-partial"]),
                ("compare", ["compare", "--a", input("dl"), "--b", input("dl"), "--index-a", path, "--index-b", path]),
            ]
            // Whole-tensor and metadata tamperings go through every command; single-element ones
            // through one, in turn (the reader is shared; this keeps the corpus within a minute).
            let chosen = label.contains("[0]") ? [runs[position % runs.count]] : runs
            for (command, arguments) in chosen { add("tampered index fields", "\(command): \(label)", arguments) }
        }
    }

    static func bytes<T>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

    // MARK: FIFOs and devices

    mutating func addFIFOs() throws {
        let category = "FIFOs and devices"
        func fifo(_ relative: String) -> String {
            let path = input(relative)
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            mkfifo(path, 0o600)
            return path
        }
        func folder(_ name: String, copying source: String, replacing file: String) throws -> String {
            let path = input(name)
            try FileManager.default.copyItem(atPath: input(source), toPath: path)
            try FileManager.default.removeItem(atPath: path + "/" + file)
            _ = fifo(name + "/" + file)
            return path
        }
        let dl = input("dl"), cache = input("cache.safetensors"), index = input("index.safetensors")
        let weightsFIFO = try folder("fifo-dl-weights", copying: "dl", replacing: "ae.pt")
        let configFIFO = try folder("fifo-dl-config", copying: "dl", replacing: "config.json")
        let sparsifyWeights = try folder("fifo-sparsify-weights", copying: "sparsify", replacing: "layers.0/sae.safetensors")
        let sparsifyConfig = try folder("fifo-sparsify-config", copying: "sparsify", replacing: "layers.0/cfg.json")
        let saelensWeights = try folder("fifo-saelens-weights", copying: "saelens", replacing: "sae_weights.safetensors")
        let cacheFolder = input("fifo-cache-folder")
        try FileManager.default.createDirectory(atPath: cacheFolder, withIntermediateDirectories: true)
        _ = fifo("fifo-cache-folder/shard_000.safetensors")
        let plain = fifo("fifo")
        let probeCSV = fifo("fifo-probe/p.csv")
        try FileManager.default.copyItem(atPath: input("cities.safetensors"), toPath: input("fifo-probe/p.safetensors"))
        try FileManager.default.copyItem(atPath: input("cities.csv"), toPath: input("fifo-probe2/q.csv"), creatingFolders: true)
        _ = fifo("fifo-probe2/q.safetensors")
        let runs: [(String, [String])] = [
            ("--sae FIFO", ["eval", "--sae", plain, "--acts", cache]),
            ("ae.pt FIFO in the folder", ["eval", "--sae", weightsFIFO, "--acts", cache]),
            ("config.json FIFO in the folder", ["inspect", configFIFO]),
            ("sparsify sae.safetensors FIFO", ["inspect", sparsifyWeights + "/layers.0"]),
            ("sparsify cfg.json FIFO", ["inspect", sparsifyConfig + "/layers.0"]),
            ("SAELens weights FIFO", ["inspect", saelensWeights]),
            ("--acts FIFO", ["eval", "--sae", dl, "--acts", plain]),
            ("--acts folder holding a FIFO", ["eval", "--sae", dl, "--acts", cacheFolder]),
            ("index --acts FIFO", ["index", "--sae", dl, "--acts", plain, "--out", output(".idx")]),
            ("index --sae FIFO", ["index", "--sae", plain, "--acts", cache, "--out", output(".idx")]),
            ("--acts /dev/zero", ["eval", "--sae", dl, "--acts", "/dev/zero"]),
            ("--acts /dev/null", ["eval", "--sae", dl, "--acts", "/dev/null"]),
            ("export --index FIFO", ["export", "--sae", dl, "--index", plain, "--features", "0", "--out", output(".json")]),
            ("export --index /dev/zero", ["export", "--sae", dl, "--index", "/dev/zero", "--features", "0", "--out", output(".json")]),
            ("export --index directory", ["export", "--sae", dl, "--index", inputs.path, "--features", "0", "--out", output(".json")]),
            ("export --tokenizer FIFO", ["export", "--sae", dl, "--index", index, "--features", "0", "--tokenizer", plain, "--out", output(".json")]),
            ("export --unembed FIFO", ["export", "--sae", dl, "--index", index, "--features", "0", "--unembed", plain, "--out", output(".json")]),
            ("export --features @FIFO", ["export", "--sae", dl, "--index", index, "--features", "@" + plain, "--out", output(".json")]),
            ("merge shard FIFO", ["merge", index, plain, "--out", output(".idx")]),
            ("compare --index-a FIFO", ["compare", "--a", dl, "--b", dl, "--index-a", plain, "--index-b", index]),
            ("compare --a FIFO", ["compare", "--a", plain, "--b", dl]),
            ("probe statements CSV FIFO", ["probe", "--data", probeCSV, "--method", "dim"]),
            ("probe activations FIFO", ["probe", "--data", input("fifo-probe2/q.csv"), "--method", "dim"]),
            ("pca activations FIFO", ["pca", "--data", input("fifo-probe2/q.csv")]),
        ]
        for (name, arguments) in runs { add(category, name, arguments, blame: ["fifo", "/dev/", "inputs"]) }
    }

    // MARK: Overwrite attempts

    mutating func addOverwriteAttempts() throws {
        let category = "overwrite attempts"
        let dl = input("dl"), cache = input("cache.safetensors"), index = input("index.safetensors")
        let existing = output(".existing")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: existing))
        let existingCopy = input("existing-output.txt")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: existingCopy))
        // Another spelling, a symlink and a hard link of inputs.
        let symlink = out.appendingPathComponent("link-to-ae.pt").path
        try FileManager.default.createSymbolicLink(atPath: symlink, withDestinationPath: dl + "/ae.pt")
        let hardLink = out.appendingPathComponent("hard-link-to-cache").path
        link(cache, hardLink)
        let dotted = inputs.path + "/./dl/../dl/ae.pt"
        let runs: [(String, [String])] = [
            ("index --out the dictionary's own ae.pt", ["index", "--sae", dl, "--acts", cache, "--out", dl + "/ae.pt"]),
            ("index --out the dictionary's own ae.pt --force", ["index", "--sae", dl, "--acts", cache, "--out", dl + "/ae.pt", "--force"]),
            ("index --out another spelling of ae.pt --force", ["index", "--sae", dl, "--acts", cache, "--out", dotted, "--force"]),
            ("index --out symlink to ae.pt --force", ["index", "--sae", dl, "--acts", cache, "--out", symlink, "--force"]),
            ("index --out the cache --force", ["index", "--sae", dl, "--acts", cache, "--out", cache, "--force"]),
            ("index --out hard link of the cache --force", ["index", "--sae", dl, "--acts", cache, "--out", hardLink, "--force"]),
            ("index --out an existing file", ["index", "--sae", dl, "--acts", cache, "--out", existingCopy]),
            ("index --out a directory --force", ["index", "--sae", dl, "--acts", cache, "--out", inputs.path, "--force"]),
            ("merge --out its shard --force", ["merge", index, "--out", index, "--force"]),
            ("merge --out an existing file", ["merge", index, "--out", existingCopy]),
            ("compare --out the dictionary --force", ["compare", "--a", dl, "--b", input("dl2"), "--out", dl + "/ae.pt", "--force"]),
            ("compare --out B's config --force", ["compare", "--a", dl, "--b", input("dl2"), "--out", input("dl2/config.json"), "--force"]),
            ("compare --out its index --force", ["compare", "--a", dl, "--b", dl, "--index-a", index, "--index-b", index, "--out", index, "--force"]),
            ("compare --out an existing file", ["compare", "--a", dl, "--b", input("dl2"), "--out", existingCopy]),
            ("export --out its index --force", ["export", "--sae", dl, "--index", index, "--features", "0", "--format", "json", "--out", index, "--force"]),
            ("export --out the unembedding --force", ["export", "--sae", dl, "--index", index, "--features", "0", "--format", "json",
                                                      "--unembed", input("w_u.safetensors"), "--out", input("w_u.safetensors"), "--force"]),
            ("export --out the tokenizer beside the cache --force", ["export", "--sae", dl, "--index", index, "--features", "0", "--format", "json",
                                                                     "--out", input("tokenizer.json"), "--force"]),
            ("export --out an existing file", ["export", "--sae", dl, "--index", index, "--features", "0", "--format", "json", "--out", existingCopy]),
        ]
        for (name, arguments) in runs { add(category, name, arguments, blame: ["ae.pt", "cache", "index", "existing", "config.json", "w_u", "inputs", "link", "tokenizer"]) }
        add(category, "index --out an existing output --force (allowed)", ["index", "--sae", dl, "--acts", cache, "--out", existing, "--force"])
    }
}

extension FileManager {
    func copyItem(atPath source: String, toPath destination: String, creatingFolders: Bool) throws {
        try createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try copyItem(atPath: source, toPath: destination)
    }
}

/// A safetensors file taken apart enough to change one tensor's bytes or the metadata.
struct SafetensorsEditor {
    struct Entry {
        var name: String
        var dtype: String
        var range: Range<Int>
    }

    let data: Data
    let header: [String: Any]
    let dataStart: Int
    let tensors: [Entry]
    var metadata: [String: String] { header["__metadata__"] as? [String: String] ?? [:] }

    init(_ data: Data) throws {
        self.data = data
        let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<8 + length)) as! [String: Any]
        dataStart = 8 + length
        tensors = header.compactMap { name, value in
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String, let offsets = info["data_offsets"] as? [Int] else { return nil }
            return Entry(name: name, dtype: dtype, range: offsets[0]..<offsets[1])
        }.sorted { $0.name < $1.name }
    }

    /// The file with `value` written over the tensor's first element, or every element.
    func filling(_ tensor: Entry, with value: [UInt8], everywhere: Bool) -> Data {
        var copy = data
        let start = dataStart + tensor.range.lowerBound, end = dataStart + tensor.range.upperBound
        var position = start
        while position + value.count <= end {
            copy.replaceSubrange(position..<position + value.count, with: value)
            position += value.count
            if !everywhere { break }
        }
        return copy
    }

    /// The file with another `__metadata__` (the header is rewritten; tensor offsets are relative to the data).
    func withMetadata(_ metadata: [String: String]) -> Data {
        var edited = header
        edited["__metadata__"] = metadata
        let json = try! JSONSerialization.data(withJSONObject: edited, options: [.sortedKeys])
        var result = Data(withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) })
        result.append(json)
        result.append(data.subdata(in: dataStart..<data.count))
        return result
    }
}
