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
    /// config.json's scalar values (model_name, dataset_repo, cache_ctx_len, ...), as strings.
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
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        var metadata: [String: String] = ["source": "delphi latent cache"]
        for (key, value) in object {
            if let text = value as? String { metadata[key] = text } else if let number = value as? NSNumber { metadata[key] = number.stringValue }
        }
        return metadata
    }
}

/// Walks one split's entries in order, handing out those of consecutive row ranges; checks each
/// location against the token matrix and the split's latent range, and that rows never go back.
struct DelphiSplitCursor {
    let split: DelphiLatentCache.Split
    let sequenceCount: Int
    let contextLength: Int
    /// First entry whose row may still be requested.
    private(set) var low = 0
    /// Entries before this one were validated.
    private var checked = 0
    private var lastRow = -1

    init(split: DelphiLatentCache.Split, sequenceCount: Int, contextLength: Int) {
        self.split = split
        self.sequenceCount = sequenceCount
        self.contextLength = contextLength
    }

    /// Global row and latent of entry `e`.
    @inline(__always)
    private func location(_ e: Int) -> (row: Int, latent: Int, batchRow: Int, position: Int) {
        let base = split.locations.buffer.base + split.locations.byteOffset
        func column(_ c: Int) -> Int {
            switch split.locations.dtype {
            case .uint16: Int(base.loadUnaligned(fromByteOffset: (3 * e + c) * 2, as: UInt16.self))
            case .uint32: Int(base.loadUnaligned(fromByteOffset: (3 * e + c) * 4, as: UInt32.self))
            case .int32: Int(base.loadUnaligned(fromByteOffset: (3 * e + c) * 4, as: Int32.self))
            default: Int(base.loadUnaligned(fromByteOffset: (3 * e + c) * 8, as: Int64.self))
            }
        }
        let batchRow = column(0), position = column(1)
        return (batchRow * contextLength + position, split.latents.lowerBound + column(2), batchRow, position)
    }

    /// Calls `body(row, latent, entry)` for every entry with row in `rows` (ranges must not go
    /// back: their lower bounds never decrease).
    mutating func visit(_ rows: Range<Int>, _ body: (Int, Int, Int) -> Void) throws {
        let n = split.entryCount
        while low < n, location(low).row < rows.lowerBound { low += 1 }
        var e = low
        while e < n {
            let at = location(e)
            if e >= checked {
                guard at.batchRow >= 0, at.batchRow < sequenceCount, at.position >= 0, at.position < contextLength else {
                    throw SaescopeError("location \(e) (batch row \(at.batchRow), position \(at.position)) lies outside the token matrix [\(sequenceCount), \(contextLength)]", file: split.path)
                }
                guard split.latents.contains(at.latent) else {
                    throw SaescopeError("location \(e) has latent offset \(at.latent - split.latents.lowerBound), outside the split's \(split.latents.count) latents", file: split.path)
                }
                guard at.row >= lastRow else {
                    throw SaescopeError("locations are not in (batch row, position) order at entry \(e), as delphi's torch.nonzero writes them", file: split.path)
                }
                lastRow = at.row
                checked = e + 1
            }
            guard at.row < rows.upperBound else { break }
            body(at.row, at.latent, e)
            e += 1
        }
    }

    /// Activation of entry `e` as Float.
    @inline(__always)
    func value(_ e: Int) -> Float {
        if split.activations.dtype == .float16 {
            return floatFromHalf(bits: (split.activations.buffer.base + split.activations.byteOffset).loadUnaligned(fromByteOffset: 2 * e, as: UInt16.self))
        }
        var value: Float = 0
        split.activations.convertToFloat(start: e, count: 1, into: &value)
        return value
    }
}
