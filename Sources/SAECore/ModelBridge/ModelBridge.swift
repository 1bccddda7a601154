import Foundation

/// A language model running in a child process (`python -m saescope_model serve`), spoken to
/// over its stdin/stdout. Every request has a deadline; a crash, a hang or a failed request is a
/// `SaescopeError` of one line (with the child's last stderr line), and the child is killed when
/// the bridge is closed or released.
public final class ModelBridge {
    public struct Info {
        public let model: String
        public let architecture: String
        public let layerCount: Int?
        public let dModel: Int
        public let vocabularySize: Int
        public let bosTokenID: Int?
        public let prefixTokenIDs: [Int]
        public let hook: String
        public let layer: String
        public let resumes: Bool
        public let tokenizerFile: String?
        /// Whether the server applies the LM head itself in chunks (hello's split_head).
        public let splitsHead: Bool
        /// The most positions the model takes (nil: its config does not say).
        public let contextLength: Int?

        public init(model: String, architecture: String, layerCount: Int?, dModel: Int, vocabularySize: Int, bosTokenID: Int?,
                    prefixTokenIDs: [Int], hook: String, layer: String, resumes: Bool, tokenizerFile: String?, contextLength: Int? = nil,
                    splitsHead: Bool = false) {
            self.model = model
            self.architecture = architecture
            self.layerCount = layerCount
            self.dModel = dModel
            self.vocabularySize = vocabularySize
            self.bosTokenID = bosTokenID
            self.prefixTokenIDs = prefixTokenIDs
            self.hook = hook
            self.layer = layer
            self.resumes = resumes
            self.tokenizerFile = tokenizerFile
            self.contextLength = contextLength
            self.splitsHead = splitsHead
        }

        /// "layer 3 (model.layers.3)", or the module's name for a --hook site.
        public var site: String { layer.isEmpty ? hook : "layer \(layer) (\(hook))" }
    }

    public let info: Info
    public let timeout: Double
    private let child: ChildProcess
    private var nextID = 0

    /// Starts the server for `model` hooked at `layer` (a block index or "embeddings") or `hook`
    /// (a module name); waits for its `hello` (model loading included) within `timeout` seconds.
    /// `started` is told the child's process id as soon as it runs (before the model loads), so a
    /// caller on another thread can end it (`ChildProcess.terminate(processGroup:)`) while it loads.
    /// `prependBOS` (auto, always, never; nil: auto) sets the prefix texts get, as the exporter's
    /// `--prepend-bos` did for a cache (`PrependBOS.mode(forCache:)`).
    public init(model: String, layer: String?, hook: String?, timeout: Double, threads: Int? = nil, prependBOS: String? = nil,
                environment: ModelEnvironment, started: ((Int32) -> Void)? = nil) throws {
        self.timeout = timeout
        var arguments = ["-m", "saescope_model", "serve", "--model", model]
        if let hook { arguments += ["--hook", hook] } else if let layer { arguments += ["--layer", layer] }
        if let threads { arguments += ["--threads", String(threads)] }
        if let prependBOS { arguments += ["--prepend-bos", prependBOS] }
        do {
            child = try ChildProcess(executable: environment.python, arguments: arguments,
                                     environment: environment.childEnvironment(), commandName: "the model process")
        } catch let failure as ChildProcess.Failure {
            throw SaescopeError(failure.description)
        }
        started?(child.pid)
        let (hello, _) = try Self.exchange(child, id: 0, op: "hello", fields: [:], frames: [], timeout: timeout)
        guard (hello["protocol"] as? Int) == ModelProtocol.version else {
            throw SaescopeError("the model process speaks protocol \(hello["protocol"] ?? "?"), saescope \(ModelProtocol.version): tools/saescope_model does not match this saescope")
        }
        info = Info(model: hello["model"] as? String ?? model, architecture: hello["architecture"] as? String ?? "?",
                    layerCount: hello["n_layers"] as? Int, dModel: hello["d_model"] as? Int ?? 0,
                    vocabularySize: hello["vocab_size"] as? Int ?? 0, bosTokenID: hello["bos_token_id"] as? Int,
                    prefixTokenIDs: hello["prefix_token_ids"] as? [Int] ?? [], hook: hello["hook"] as? String ?? "?",
                    layer: hello["layer"] as? String ?? "", resumes: hello["resume"] as? Bool ?? false,
                    tokenizerFile: hello["tokenizer_file"] as? String, contextLength: hello["context_length"] as? Int,
                    splitsHead: hello["split_head"] as? Bool ?? false)
    }

    deinit { child.kill() }

    public var processID: Int32 { child.pid }

    /// Asks the child to exit (end of its stdin) and reaps it.
    public func close() { child.finish(timeout: 10) }

    /// Activations at the hook `[B, T, D]` (rows past a sequence's end are zero) for token
    /// sequences padded to the longest; `keep` keeps the batch for `loss`.
    public func activations(_ sequences: [[Int32]], keep: Bool) throws -> (values: [Float], length: Int) {
        let (tokens, lengths, length) = Self.pad(sequences)
        let (_, frames) = try request("activations", fields: ["keep": keep], frames: [
            .int64s("tokens", tokens, shape: [sequences.count, length]),
            .int64s("lengths", lengths, shape: [sequences.count]),
        ])
        guard let acts = frames["acts"], acts.shape == [sequences.count, length, info.dModel] else {
            throw SaescopeError("the model process sent no acts [\(sequences.count), \(length), \(info.dModel)] for `activations`")
        }
        return (acts.floatValues(), length)
    }

    /// One plain forward pass of the model to its logits over the sequences (padded to the
    /// longest), nothing sent back: the baseline of `saescope bench model`.
    public func plainForward(_ sequences: [[Int32]]) throws {
        let (tokens, lengths, length) = Self.pad(sequences)
        _ = try request("forward", fields: [:], frames: [
            .int64s("tokens", tokens, shape: [sequences.count, length]),
            .int64s("lengths", lengths, shape: [sequences.count]),
        ])
    }

    /// The child's CPU seconds so far (user + system, its threads included), for benchmarks.
    public func childCPUSeconds() throws -> Double {
        let (reply, _) = try request("clock", fields: [:], frames: [])
        guard let seconds = reply["cpu_seconds"] as? Double else { throw SaescopeError("the model process sent no cpu_seconds for `clock`") }
        return seconds
    }

    public enum Replacement: String { case given, zeros, mean, identity }

    /// Per-prediction NLL and KL(clean || patched) `[B, T-1]` of the kept batch for each variant
    /// (`nll.clean` too). `patch [B, T]`: 1 where the hook output is replaced.
    public func loss(patch: [UInt8], batch: Int, length: Int, variants: [(name: String, replace: Replacement)],
                     given: [String: [Float]], mean: [Float]?) throws -> [String: [Float]] {
        var frames: [ModelFrame] = [.uint8s("patch", patch, shape: [batch, length])]
        for (name, values) in given { frames.append(.floats("given.\(name)", values, shape: [batch, length, info.dModel])) }
        if let mean { frames.append(.floats("mean", mean, shape: [info.dModel])) }
        let (_, reply) = try request("loss", fields: ["variants": variants.map { ["name": $0.name, "replace": $0.replace.rawValue] }],
                                     frames: frames)
        var result: [String: [Float]] = [:]
        for (name, frame) in reply {
            guard frame.shape == [batch, length - 1] else {
                throw SaescopeError("the model process sent \(name) of shape \(frame.shape) for `loss` (expected [\(batch), \(length - 1)])")
            }
            result[name] = frame.floatValues()
        }
        return result
    }

    /// The token ids of `text` by the model's tokenizer, without special tokens (`info.prefixTokenIDs`
    /// are what the tokenizer puts before a text).
    public func tokenize(_ text: String) throws -> [Int32] {
        let (_, frames) = try request("tokenize", fields: ["text": text], frames: [])
        guard let ids = frames["ids"], ids.dtype == .i64, ids.shape.count == 1 else {
            throw SaescopeError("the model process sent no ids [N] for `tokenize`")
        }
        return ids.int64Values().map { Int32(truncatingIfNeeded: $0) }
    }

    /// The model's output embedding (its LM head's weight, `[V, D]`), without the final norm.
    public func unembedding() throws -> (values: [Float], vocabularySize: Int) {
        let (_, frames) = try request("unembedding", fields: [:], frames: [])
        guard let head = frames["lm_head"], head.dtype == .f32, head.shape.count == 2, head.shape[1] == info.dModel else {
            throw SaescopeError("the model process sent no lm_head [V, \(info.dModel)] f32 for `unembedding`")
        }
        return (head.floatValues(), head.shape[0])
    }

    /// A text file cut into sequences of at most `ctx` tokens (the exporter's rules: paragraphs,
    /// the tokenizer's special tokens), at most `maxTokens` in all.
    public func sequences(textFile: String, ctx: Int, maxTokens: Int?) throws -> [[Int32]] {
        var fields: [String: Any] = ["path": (textFile as NSString).standardizingPath, "ctx": ctx]
        if let maxTokens { fields["max_tokens"] = maxTokens }
        let (_, frames) = try request("sequences", fields: fields, frames: [])
        guard let tokens = frames["tokens"]?.int64Values(), let offsets = frames["offsets"]?.int64Values() else {
            throw SaescopeError("the model process sent no tokens/offsets for `sequences`")
        }
        return zip(offsets, offsets.dropFirst()).map { start, end in tokens[Int(start)..<Int(end)].map { Int32($0) } }
    }

    private func request(_ op: String, fields: [String: Any], frames: [ModelFrame]) throws -> ([String: Any], [String: ModelFrame]) {
        nextID += 1
        return try Self.exchange(child, id: nextID, op: op, fields: fields, frames: frames, timeout: timeout)
    }

    private static func exchange(_ child: ChildProcess, id: Int, op: String, fields: [String: Any], frames: [ModelFrame],
                                 timeout: Double) throws -> ([String: Any], [String: ModelFrame]) {
        let deadline = Date().addingTimeInterval(timeout)
        var header = fields
        header["op"] = op
        header["id"] = id
        do {
            try child.write(try ModelProtocol.encode(header, frames: frames), deadline: deadline, during: op)
            let reply = try ModelProtocol.read(from: child, deadline: deadline, request: op)
            guard reply.header["ok"] as? Bool == true else {
                throw SaescopeError("the model process failed `\(op)`: \(reply.header["error"] as? String ?? "no reason given")")
            }
            return reply
        } catch let failure as ChildProcess.Failure {
            throw SaescopeError(failure.description)
        }
    }

    static func pad(_ sequences: [[Int32]]) -> (tokens: [Int64], lengths: [Int64], length: Int) {
        let length = sequences.map(\.count).max() ?? 0
        var tokens = [Int64](repeating: 0, count: sequences.count * length)
        for (row, sequence) in sequences.enumerated() {
            for (column, id) in sequence.enumerated() { tokens[row * length + column] = Int64(id) }
        }
        return (tokens, sequences.map { Int64($0.count) }, length)
    }
}
