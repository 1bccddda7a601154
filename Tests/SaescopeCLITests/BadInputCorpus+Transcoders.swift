import Foundation
import SAECore

/// Transcoders whose W_skip contradicts d_in / d_out, configs SAELens would refuse, and caches
/// whose `targets` contradict their `acts` (rows, dtype, rank, shards that disagree): each must be
/// one line naming the file, exit 2.
extension BadInputCorpus {
    mutating func addTranscodersAndTargets() throws {
        let category = "transcoders and targets"
        let manager = FileManager.default
        let targetsCache = input("targets.safetensors"), plainCache = input("cache.safetensors")

        /// A copy of `folder` whose weights file has tensor `key` replaced by `replacement` (nil: removed).
        func editedWeights(_ folder: String, _ file: String, as name: String, _ key: String,
                           _ replacement: Safetensors.Entry?) throws -> String {
            let copy = inputs.appendingPathComponent(name)
            try manager.copyItem(at: inputs.appendingPathComponent(folder), to: copy)
            let path = copy.appendingPathComponent(file).path
            var entries = try Safetensors.read(path: path).tensors.filter { $0.key != key }.sorted { $0.key < $1.key }
                .map { Safetensors.Entry(name: $0.key, floats: $0.value.floats(), shape: $0.value.shape) }
            if let replacement { entries.append(replacement) }
            try Safetensors.write(entries, to: path)
            return copy.path
        }
        func floats(_ name: String, _ shape: [Int]) -> Safetensors.Entry {
            .init(name: name, floats: (0..<shape.reduce(1, *)).map { Float($0 % 7) * 0.1 }, shape: shape)
        }
        let skipCases: [(String, [Int])] = [("W_skip [d_in, d_out] (transposed)", [16, 12]), ("W_skip [d_out, d_out]", [12, 12]),
                                            ("W_skip 1-d", [192])]
        for (position, (name, shape)) in skipCases.enumerated() {
            let folder = try editedWeights("tcoder", "sae_weights.safetensors", as: "tcoder-skip-\(position)", "W_skip", floats("W_skip", shape))
            add(category, "SAELens skip transcoder with \(name)", ["eval", "--sae", folder, "--acts", targetsCache], blame: ["sae_weights.safetensors"])
        }
        let sparsify = try editedWeights("sptcoder", "layers.0/sae.safetensors", as: "sptcoder-skip", "W_skip", floats("W_skip", [16, 12]))
        add(category, "sparsify transcoder with W_skip [16, 12]", ["inspect", sparsify + "/layers.0"], blame: ["sae.safetensors"])
        let noSkip = try editedWeights("tcoder", "sae_weights.safetensors", as: "tcoder-no-skip", "W_skip", nil)
        add(category, "skip transcoder without W_skip", ["inspect", noSkip], blame: ["sae_weights.safetensors"])

        // cfg.json edits SAELens itself refuses.
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: inputs.appendingPathComponent("tcoder/cfg.json"))) as! [String: Any]
        for (position, (name, key, value)) in [("apply_b_dec_to_input true", "apply_b_dec_to_input", true as Any),
                                               ("normalize_activations layer_norm", "normalize_activations", "layer_norm"),
                                               ("no d_out", "d_out", NSNull())].enumerated() {
            let copy = inputs.appendingPathComponent("tcoder-cfg-\(position)")
            try manager.copyItem(at: inputs.appendingPathComponent("tcoder"), to: copy)
            var edited = config
            edited[key] = value is NSNull ? nil : value
            try JSONSerialization.data(withJSONObject: edited).write(to: copy.appendingPathComponent("cfg.json"))
            add(category, "transcoder cfg.json with \(name)", ["eval", "--sae", copy.path, "--acts", targetsCache], blame: ["cfg.json"])
        }

        // Caches whose targets contradict acts.
        let source = try Safetensors.read(path: targetsCache)
        func cache(_ name: String, targets: Safetensors.Entry) throws -> String {
            let path = input(name)
            var entries: [Safetensors.Entry] = try ["acts", "tokens", "seq_offsets"].map { key in
                let tensor = try source.require(key)
                return key == "acts" ? .init(name: key, floats: tensor.floats(), shape: tensor.shape)
                    : .init(name: key, int64s: try tensor.int64s(), shape: tensor.shape)
            }
            entries.append(targets)
            try Safetensors.write(entries, metadata: source.metadata, to: path)
            return path
        }
        let badCaches: [(String, String, Safetensors.Entry)] = [
            ("targets with 63 rows for 64", "targets-63.safetensors", floats("targets", [63, 12])),
            ("targets with 65 rows for 64", "targets-65.safetensors", floats("targets", [65, 12])),
            ("targets 1-d", "targets-1d.safetensors", floats("targets", [64 * 12])),
            ("targets int64", "targets-int.safetensors", .init(name: "targets", int64s: [Int64](repeating: 1, count: 64 * 12), shape: [64, 12])),
            ("targets of width 0", "targets-empty.safetensors", floats("targets", [64, 0])),
        ]
        let transcoder = input("tcoder")
        for (name, file, targets) in badCaches {
            let path = try cache(file, targets: targets)
            add(category, "eval with \(name)", ["eval", "--sae", transcoder, "--acts", path], blame: [file])
            add(category, "index with \(name)", ["index", "--sae", transcoder, "--acts", path, "--out", output(".safetensors")], blame: [file])
        }
        // A sharded cache where only the first shard has targets.
        let shards = inputs.appendingPathComponent("targets-shards")
        try manager.createDirectory(at: shards, withIntermediateDirectories: true)
        try manager.copyItem(atPath: targetsCache, toPath: shards.appendingPathComponent("shard_00000.safetensors").path)
        try manager.copyItem(atPath: plainCache, toPath: shards.appendingPathComponent("shard_00001.safetensors").path)
        add(category, "shards that disagree on targets", ["eval", "--sae", transcoder, "--acts", shards.path], blame: ["shard_00001.safetensors"])
        // Targets of another width than the transcoder's d_out, and a transcoder on a cache without targets.
        add(category, "targets wider than d_out", ["eval", "--sae", input("sptcoder"), "--acts", targetsCache], blame: ["targets.safetensors"])
        add(category, "transcoder eval without targets", ["eval", "--sae", transcoder, "--acts", plainCache], blame: ["cache.safetensors"])
    }
}
