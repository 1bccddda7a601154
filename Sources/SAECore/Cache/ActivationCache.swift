import Foundation

/// A model's activations, one row per real token, as saescope's exporter writes them: one
/// safetensors file or a directory of them (read in name order) holding `acts [N, D]`
/// (F32/F16/BF16), `tokens [N]`, `seq_offsets [S+1]` and metadata; or a bare `.npy` of `[N, D]`.
/// For transcoders a cache may also hold `targets [N, D_out]`: the site the transcoder must
/// reconstruct, row for row beside `acts` (every shard has them, or none does).
/// Rows are memory-mapped and converted to Float32 chunk by chunk.
public final class ActivationCache: @unchecked Sendable {
    /// One file of the cache, covering global rows `firstRow ..< firstRow + acts.shape[0]`.
    public struct Shard: Sendable {
        public let path: String
        public let acts: Tensor
        /// `tokens [rows]` (int32 or int64), validated when the cache opened; read lazily.
        public let tokens: Tensor?
        /// `targets [rows, D_out]`, when the cache has them.
        public let targets: Tensor?
        public let firstRow: Int
        public var rowCount: Int { acts.shape[0] }
    }

    public let path: String
    public let shards: [Shard]
    public let dimension: Int
    public let rowCount: Int
    /// D_out of `targets`, or nil when the cache has none.
    public let targetDimension: Int?
    /// Whether every shard has token ids (a bare npy does not).
    public let hasTokens: Bool
    /// Global sequence boundaries: sequence s is rows `sequenceOffsets[s] ..< sequenceOffsets[s+1]`.
    /// A cache without `seq_offsets` is one sequence.
    public let sequenceOffsets: [Int]
    /// The first shard's `__metadata__` (model, hook, layer, tokenizer, bos_token_id, ...).
    public let metadata: [String: String]

    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SaescopeError("no such file or directory", file: path)
        }
        let files: [String]
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            files = names.filter { $0.hasSuffix(".safetensors") }.sorted().map { (path as NSString).appendingPathComponent($0) }
            guard !files.isEmpty else {
                throw SaescopeError("directory holds no .safetensors activation files", file: path)
            }
        } else {
            files = [path]
        }

        var shards: [Shard] = []
        var hasTokens = true
        var offsets: [Int] = [0]
        var metadata: [String: String] = [:]
        var dimension = -1
        var targetDimension: Int?
        var row = 0
        for (index, file) in files.enumerated() {
            let part = try Self.readShard(file)
            let acts = part.acts
            if dimension < 0 { dimension = acts.shape[1] }
            guard acts.shape[1] == dimension else {
                throw SaescopeError("acts have dimension \(acts.shape[1]) but earlier shards have \(dimension)", file: file)
            }
            let partTargets = part.targets?.shape[1]
            if index == 0 { targetDimension = partTargets }
            guard partTargets == targetDimension else {
                let describe = { (width: Int?) in width.map { "targets of dimension \($0)" } ?? "no targets" }
                throw SaescopeError("holds \(describe(partTargets)) but earlier shards hold \(describe(targetDimension))", file: file)
            }
            if index == 0 { metadata = part.metadata }
            if part.tokens == nil { hasTokens = false }
            for boundary in part.sequenceOffsets.dropFirst() { offsets.append(row + boundary) }
            shards.append(Shard(path: file, acts: acts, tokens: part.tokens, targets: part.targets, firstRow: row))
            row += acts.shape[0]
        }
        self.shards = shards
        self.dimension = dimension
        self.targetDimension = targetDimension
        self.rowCount = row
        self.hasTokens = hasTokens
        self.sequenceOffsets = offsets
        self.metadata = metadata
    }

    /// An in-memory cache of one block of rows (benchmarks and tests).
    public init(label: String, acts: Tensor, tokens: Tensor?, sequenceOffsets: [Int], metadata: [String: String] = [:],
                targets: Tensor? = nil) throws {
        try Self.validateActs(acts, file: label)
        if let targets { try Self.validateTargets(targets, rows: acts.shape[0], file: label) }
        guard sequenceOffsets.first == 0, sequenceOffsets.last == acts.shape[0],
              zip(sequenceOffsets, sequenceOffsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw SaescopeError("sequence offsets must rise from 0 to the \(acts.shape[0]) rows", file: label)
        }
        path = label
        shards = [Shard(path: label, acts: acts, tokens: tokens, targets: targets, firstRow: 0)]
        dimension = acts.shape[1]
        targetDimension = targets?.shape[1]
        rowCount = acts.shape[0]
        hasTokens = tokens != nil
        self.sequenceOffsets = sequenceOffsets
        self.metadata = metadata
    }

    private struct ShardContents {
        var acts: Tensor
        var tokens: Tensor?
        var targets: Tensor?
        var sequenceOffsets: [Int]
        var metadata: [String: String]
    }

    private static func readShard(_ file: String) throws -> ShardContents {
        if file.hasSuffix(".npy") {
            let acts = try Npy.read(path: file)
            try validateActs(acts, file: file)
            return ShardContents(acts: acts, tokens: nil, targets: nil, sequenceOffsets: [0, acts.shape[0]], metadata: [:])
        }
        let contents = try Safetensors.read(path: file)
        let acts = try contents.require("acts")
        try validateActs(acts, file: file)
        let rows = acts.shape[0]
        let targets = contents["targets"]
        if let targets { try validateTargets(targets, rows: rows, file: file) }
        let tokens = contents["tokens"]
        if let tokens {
            guard tokens.shape == [rows], tokens.dtype == .int64 || tokens.dtype == .int32 else {
                throw SaescopeError("tokens must be int32 or int64 of shape [\(rows)], found \(tokens.dtype.rawValue) \(tokens.shape)", file: file)
            }
        }
        var offsets = [0, rows]
        if let offsetTensor = contents["seq_offsets"] {
            guard offsetTensor.rank == 1, offsetTensor.elementCount >= 1, offsetTensor.dtype == .int64 || offsetTensor.dtype == .int32 else {
                throw SaescopeError("seq_offsets must be a 1-d int64 tensor, found \(offsetTensor.dtype.rawValue) \(offsetTensor.shape)", file: file)
            }
            offsets = try attributingErrors(to: file) { try offsetTensor.int64s().map { Int($0) } }
            guard offsets.first == 0, offsets.last == rows, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                throw SaescopeError("seq_offsets must rise from 0 to the \(rows) rows of acts", file: file)
            }
        }
        return ShardContents(acts: acts, tokens: tokens, targets: targets, sequenceOffsets: offsets, metadata: contents.metadata)
    }

    private static func validateActs(_ acts: Tensor, file: String) throws {
        guard acts.rank == 2, acts.shape[1] > 0 else {
            throw SaescopeError("acts must have shape [tokens, dimension], found \(acts.shape)", file: file)
        }
        guard acts.dtype == .float32 || acts.dtype == .float16 || acts.dtype == .bfloat16 || acts.dtype == .float64 else {
            throw SaescopeError("acts must be float32, float16 or bfloat16, found \(acts.dtype.rawValue)", file: file)
        }
    }

    /// `targets` must be a float matrix with one row per row of `acts`.
    private static func validateTargets(_ targets: Tensor, rows: Int, file: String) throws {
        guard targets.rank == 2, targets.shape[1] > 0,
              targets.dtype == .float32 || targets.dtype == .float16 || targets.dtype == .bfloat16 || targets.dtype == .float64 else {
            throw SaescopeError("targets must be a float32, float16 or bfloat16 matrix [tokens, D_out], found \(targets.dtype.rawValue) \(targets.shape)", file: file)
        }
        guard targets.shape[0] == rows else {
            throw SaescopeError("targets have \(targets.shape[0]) rows but acts have \(rows): they must be the same tokens", file: file)
        }
    }

    public var sequenceCount: Int { sequenceOffsets.count - 1 }

    /// The sequence holding global row `row` (binary search).
    public func sequence(containing row: Int) -> Int {
        var low = 0, high = sequenceOffsets.count - 1
        while high - low > 1 {
            let middle = (low + high) / 2
            if sequenceOffsets[middle] <= row { low = middle } else { high = middle }
        }
        return low
    }

    /// Converts global rows `range` to Float32 into `destination` (`[range.count, D]`), across shards.
    public func readRows(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rowCount, "row range outside the cache")
        // Large reads are split across the cores: the copy or conversion (and the first touch of
        // the mapped pages) would otherwise leave all but one core idle between matmuls.
        let parts = max(1, min(ProcessInfo.activeCores, range.count * dimension / (1 << 18)))
        parallelFor(parts) { part in
            let rows = (range.lowerBound + part * range.count / parts)..<(range.lowerBound + (part + 1) * range.count / parts)
            readRowsInOneThread(rows, into: destination + (rows.lowerBound - range.lowerBound) * dimension)
        }
    }

    private func readRowsInOneThread(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        var written = 0
        for shard in shards {
            let shardRange = shard.firstRow..<(shard.firstRow + shard.rowCount)
            let overlap = range.clamped(to: shardRange)
            guard !overlap.isEmpty else { continue }
            shard.acts.convertToFloat(start: (overlap.lowerBound - shard.firstRow) * dimension,
                                      count: overlap.count * dimension,
                                      into: destination + written * dimension)
            written += overlap.count
        }
    }

    /// Converts global rows `range` of `targets` to Float32 into `destination` (`[range.count, D_out]`).
    public func readTargetRows(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        guard let width = targetDimension else { preconditionFailure("the cache has no targets") }
        precondition(range.lowerBound >= 0 && range.upperBound <= rowCount, "row range outside the cache")
        var written = 0
        for shard in shards {
            let overlap = range.clamped(to: shard.firstRow..<(shard.firstRow + shard.rowCount))
            guard !overlap.isEmpty, let targets = shard.targets else { continue }
            targets.convertToFloat(start: (overlap.lowerBound - shard.firstRow) * width, count: overlap.count * width,
                                   into: destination + written * width)
            written += overlap.count
        }
    }

    /// Token id at global `row`, or -1 when the cache has no tokens (or an id does not fit Int32).
    public func token(atRow row: Int) -> Int32 {
        precondition(row >= 0 && row < rowCount, "row outside the cache")
        var low = 0, high = shards.count
        while high - low > 1 {
            let middle = (low + high) / 2
            if shards[middle].firstRow <= row { low = middle } else { high = middle }
        }
        guard let tokens = shards[low].tokens else { return -1 }
        let local = row - shards[low].firstRow
        let base = tokens.buffer.base + tokens.byteOffset
        let id: Int64 = tokens.dtype == .int64
            ? base.loadUnaligned(fromByteOffset: local * 8, as: Int64.self)
            : Int64(base.loadUnaligned(fromByteOffset: local * 4, as: Int32.self))
        return (id >= 0 && id <= Int64(Int32.max)) ? Int32(id) : -1
    }

    /// Identity of the cache's files (canonical path, size, modification time), for stale-index checks.
    public func fingerprint() -> String {
        shards.map { FileFingerprint.of($0.path) }.joined(separator: ";")
    }
}
