import Foundation

/// A delphi latent cache (EleutherAI/delphi `LatentCache.save_splits`): the nonzero codes of a
/// dictionary over a token matrix, split by latent range into `<start>_<end>.safetensors` files
/// (`end` inclusive) in `<run>/latents/<hookpoint>/`, with `config.json` beside them.
///
/// What this reader assumes, from delphi's code: each split holds `locations [n, 3]` (batch row,
/// position, latent - start; uint16 when both the latent offset and the batch row fit, else
/// uint32; int32/int64 accepted too), `activations [n]` (float16; float32/bfloat16 accepted), and
/// `tokens [n_seqs, ctx]` (the whole token matrix, in every split); entries come from
/// `torch.nonzero` over `[batch, position, latent]`, so within a split they ascend by (batch row,
/// position); the splits tile `0 ..< width` with no gap or overlap. Each batch row is a sequence of
/// `ctx` tokens; global row = batch row * ctx + position. Codes with |f| <= 1e-5 were dropped by delphi.
public struct DelphiLatentCache: @unchecked Sendable {
    public struct Split {
        public let path: String
        /// First latent and one past the last.
        public let latents: Range<Int>
        public let locations: Tensor
        public let activations: Tensor
        public var entryCount: Int { activations.elementCount }
    }

    /// The hookpoint directory that was read.
    public let directory: String
    public let splits: [Split]
    /// `[n_seqs, ctx]` token ids (int32 or int64).
    public let tokens: Tensor
    public let sequenceCount: Int
    public let contextLength: Int
    /// config.json's scalar values (model_name, dataset_repo, cache_ctx_len, ...), as strings, plus
    /// `hook` (the hookpoint folder), `model` and `dataset` as saescope's caches name them.
    public let metadata: [String: String]

    public var width: Int { splits.last?.latents.upperBound ?? 0 }
    public var rowCount: Int { sequenceCount * contextLength }
    public var entryCount: Int { splits.reduce(0) { $0 + $1.entryCount } }
    public var sequenceOffsets: [Int] { (0...sequenceCount).map { $0 * contextLength } }

    /// Opens a hookpoint directory, or a run / `latents` directory holding exactly one hookpoint.
    public init(path: String) throws {
        directory = try Self.hookpointDirectory(path)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".safetensors") }
        var ranges: [(start: Int, end: Int, name: String)] = []
        for name in names {
            let parts = name.dropLast(".safetensors".count).split(separator: "_")
            guard parts.count == 2, let start = Int(parts[0]), let end = Int(parts[1]), start >= 0, end >= start else {
                throw SaescopeError("not a delphi split name (expected <start>_<end>.safetensors)", file: (directory as NSString).appendingPathComponent(name))
            }
            ranges.append((start, end, name))
        }
        ranges.sort { ($0.start, $0.end) < ($1.start, $1.end) }
        guard !ranges.isEmpty else { throw SaescopeError("holds no <start>_<end>.safetensors splits", file: directory) }
        var expected = 0
        for range in ranges {
            let file = (directory as NSString).appendingPathComponent(range.name)
            if range.start > expected {
                throw SaescopeError("splits leave latents \(expected)...\(range.start - 1) uncovered (a missing split?)", file: file)
            }
            if range.start < expected {
                throw SaescopeError("split overlaps the previous one: latents \(range.start)...\(expected - 1) are in both", file: file)
            }
            expected = range.end + 1
        }

        // Each file's first page holds its header: ask for them all at once (the disk answers a
        // lone small read in milliseconds, so one after the other they add up).
        for range in ranges { Self.willNeedStart(of: (directory as NSString).appendingPathComponent(range.name)) }
        var splits: [Split] = []
        var tokens: Tensor?
        for range in ranges {
            let file = (directory as NSString).appendingPathComponent(range.name)
            let contents = try Safetensors.read(path: file)
            let split = try attributingErrors(to: file) { () -> Split in
                let activations = try contents.require("activations")
                guard activations.rank == 1, [.float16, .float32, .bfloat16].contains(activations.dtype) else {
                    throw SaescopeError("'activations' must be a 1-d float16 tensor, found \(activations.dtype.rawValue) \(activations.shape)")
                }
                let locations = try contents.require("locations")
                guard locations.shape == [activations.elementCount, 3], [.uint16, .uint32, .int32, .int64].contains(locations.dtype) else {
                    throw SaescopeError("'locations' must be [\(activations.elementCount), 3] uint16 or uint32 (one row per activation), found \(locations.dtype.rawValue) \(locations.shape)")
                }
                if let splitTokens = contents["tokens"] {
                    guard splitTokens.rank == 2, splitTokens.dtype == .int64 || splitTokens.dtype == .int32 else {
                        throw SaescopeError("'tokens' must be [n_seqs, ctx] int64, found \(splitTokens.dtype.rawValue) \(splitTokens.shape)")
                    }
                    if let tokens, tokens.shape != splitTokens.shape {
                        throw SaescopeError("'tokens' has shape \(splitTokens.shape) but the first split's is \(tokens.shape)")
                    }
                    if tokens == nil { tokens = splitTokens }
                }
                return Split(path: file, latents: range.start..<(range.end + 1), locations: locations, activations: activations)
            }
            splits.append(split)
        }
        guard let tokens else {
            throw SaescopeError("no split holds 'tokens' (delphi saves them unless save_tokens=False); exemplars need them", file: directory)
        }
        self.splits = splits
        self.tokens = tokens
        sequenceCount = tokens.shape[0]
        contextLength = tokens.shape[1]
        guard contextLength > 0 else { throw SaescopeError("'tokens' has no positions", file: splits[0].path) }
        metadata = Self.readConfig(directory)
    }

    /// The first `n` latents fit delphi's file names; `sae` must have exactly `width` features.
    public func requireWidth(_ featureCount: Int, dictionary: String) throws {
        guard featureCount == width else {
            throw SaescopeError("the splits cover \(width) latents but the dictionary (\(dictionary)) has \(featureCount)", file: directory)
        }
    }

    /// Path, size and modification time of every split.
    public func fingerprint() -> String {
        splits.map { FeatureIndexBuilder.fileFingerprint($0.path) }.joined(separator: ";")
    }

    /// Bytes of the split files (what an index pass reads).
    public var byteCount: Int { splits.reduce(0) { $0 + $1.locations.byteCount + $1.activations.byteCount } }

    /// Advice only: starts reading a file's first 256 KB (its header and first entries) without waiting.
    private static func willNeedStart(of path: String) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return }
        _ = posix_fadvise(fd, 0, 256 << 10, Int32(POSIX_FADV_WILLNEED))
        close(fd)
    }

    private static func hookpointDirectory(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SaescopeError("no such file or directory", file: path)
        }
        guard isDirectory.boolValue else { throw SaescopeError("expected a delphi latents directory", file: path) }
        func hasSplits(_ directory: String) -> Bool {
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).contains { $0.hasSuffix(".safetensors") }
        }
        if hasSplits(path) { return path }
        let latents = (path as NSString).appendingPathComponent("latents")
        let parent = FileManager.default.fileExists(atPath: latents) ? latents : path
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).sorted()
            .filter { hasSplits((parent as NSString).appendingPathComponent($0)) }
        switch children.count {
        case 1: return (parent as NSString).appendingPathComponent(children[0])
        case 0: throw SaescopeError("no delphi splits here: expected <run>/latents/<hookpoint>/<start>_<end>.safetensors", file: path)
        default:
            throw SaescopeError("holds \(children.count) hookpoints (\(children.prefix(8).joined(separator: ", "))); pass one of them", file: parent)
        }
    }

    private static func readConfig(_ directory: String) -> [String: String] {
        let path = (directory as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return ["source": IndexProvenance.latentCacheSource, "hook": (directory as NSString).lastPathComponent]
        }
        var metadata: [String: String] = ["source": IndexProvenance.latentCacheSource]
        for (key, value) in object {
            if let text = value as? String { metadata[key] = text } else if let number = value as? NSNumber { metadata[key] = number.stringValue }
        }
        // The keys saescope's own caches use (exports read them): the hookpoint is the folder's name.
        metadata["hook"] = (directory as NSString).lastPathComponent
        if let model = metadata["model_name"] { metadata["model"] = model }
        if let dataset = metadata["dataset_repo"] { metadata["dataset"] = dataset }
        return metadata
    }
}
