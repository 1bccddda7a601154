import CKernels
import Foundation

extension FeatureIndexBuilder {
    /// Entries a pass over one split groups by latent at most (8 bytes each: row and value); a split with more
    /// is read in several passes over latent ranges.
    public static let codesPassEntries = 1 << 24

    /// Builds the index from codes already computed (a delphi latent cache) instead of encoding.
    /// A split holds a latent range, its entries in row order: each split's entries on the
    /// indexed rows (and the context rows around them) are grouped by latent (a counting sort,
    /// rows stay ascending), and each latent's list is recorded in one go
    /// (`FeatureAccumulator.record(feature:list:...)`); splits run in parallel. The index equals
    /// the one encoding the same codes would give. There are no activations, so the dictionary
    /// metrics hold only what codes give (tokens, L0, L1, alive features). `sae`, when given,
    /// must have the splits' width; its input dimension is recorded so the index opens with it
    /// (decoder neighbours, logit effects).
    public static func build(
        codes: DelphiLatentCache, sae: SparseAutoencoder?, saePath: String?, options: FeatureIndexOptions,
        passEntries: Int = codesPassEntries, progress: Progress? = nil, isCancelled: () -> Bool = { false }
    ) throws -> FeatureIndex {
        try options.validate()
        let f = codes.width
        if let sae { try codes.requireWidth(sae.featureCount, dictionary: saePath ?? sae.provenance.weightsPath) }
        let offsets = codes.sequenceOffsets
        let rows = rowRange(sequenceOffsets: offsets, options: options)
        if options.firstToken != nil, rows.isEmpty {
            throw SaescopeError("the token window is empty: the cache has \(codes.rowCount) tokens", file: codes.directory)
        }
        let pass = try CodesPass(codes: codes, core: rows, context: options.context, passEntries: passEntries)
        // The disk starts on the splits while the tables are set up (tens of MB written).
        let prefetcher = pass.prefetch()
        defer { prefetcher.stop() }
        let accumulator = FeatureAccumulator(featureCount: f, options: options)
        var metrics = MetricsAccumulator(inputDimension: 0, featureCount: f)
        if !rows.isEmpty {
            let counts = try pass.run(prefetcher: prefetcher, progress: progress, isCancelled: isCancelled) { feature, list, core, absoluteSum in
                accumulator.record(feature: feature, list: list, core: core, sequenceLength: codes.contextLength, minimum: options.minActivation,
                                   absoluteSum: &absoluteSum)
            }
            metrics.addCodeCounts(rows: rows.count, fires: counts.fires, absoluteSum: counts.absoluteSum)
        }

        var tables = accumulator.makeTables()
        fillContextTokens(&tables, tokenMatrix: codes.tokens)
        let provenance = IndexProvenance(
            saePath: saePath ?? "", saeFingerprint: sae.map { fileFingerprint($0.provenance.weightsPath) } ?? "",
            cachePath: codes.directory, cacheFingerprint: codes.fingerprint(),
            firstRow: rows.lowerBound, endRow: rows.upperBound,
            shards: [options.shardIndex], shardCount: options.shardCount, cacheMetadata: codes.metadata)
        return FeatureIndex(tables: tables, metrics: metrics, provenance: provenance, inputDimension: sae?.inputDimension ?? 0)
    }

    /// Only the reading half of `build(codes:)`: every split checked and grouped by latent, as the
    /// index pass does, without recording. Returns the codes grouped (benchmarks).
    public static func groupCodes(_ codes: DelphiLatentCache) throws -> Int {
        let pass = try CodesPass(codes: codes, core: 0..<codes.rowCount, context: 0, passEntries: codesPassEntries)
        let prefetcher = pass.prefetch()
        defer { prefetcher.stop() }
        let counts = try pass.run(prefetcher: prefetcher, progress: nil, isCancelled: { false }) { _, _, _, _ in }
        return counts.fires.reduce(0, +)
    }
}

/// One pass of `build(codes:)` over every split: the `core` rows are recorded, and the rows
/// within `context` of them (in their sequence) are read too, for exemplar contexts.
struct CodesPass {
    let codes: DelphiLatentCache
    let core: Range<Int>
    /// Core rows and their context rows: what is read.
    let window: Range<Int>
    let passEntries: Int

    init(codes: DelphiLatentCache, core: Range<Int>, context c: Int, passEntries: Int) throws {
        self.codes = codes
        self.core = core
        self.passEntries = min(max(1, passEntries), Int(UInt32.max))
        let length = codes.contextLength
        window = core.isEmpty ? core
            : max((core.lowerBound / length) * length, core.lowerBound - c)..<min(((core.upperBound - 1) / length + 1) * length, core.upperBound + c)
        // Rows are kept as 32-bit offsets from the window's start.
        guard window.count <= Int(UInt32.max) else {
            throw SaescopeError("more than \(UInt32.max) tokens in one pass: index the cache in shards (--shard I/N)", file: codes.directory)
        }
    }

    /// Per feature, the codes on core rows (the metrics' fire counts), and the sum of their |f|
    /// (split by split in latent order, so it does not depend on scheduling).
    struct Counts {
        var fires: [Int]
        var absoluteSum: Double
    }

    /// Calls `record(feature, list, core, absoluteSum)` once for every feature (each from one
    /// thread; features of different splits concurrently): `core` are the list's entries on core
    /// rows, `absoluteSum` the split's running sum of |f| over core codes, which `record`
    /// continues over its core codes in row order. `progress` and `isCancelled` are called from one thread at a time.
    /// `prefetcher` hears of each split's bytes once the split is done.
    func run(prefetcher: SplitPrefetcher?, progress: FeatureIndexBuilder.Progress?, isCancelled: () -> Bool,
             record: (Int, LatentList, Range<Int>, inout Double) -> Void) throws -> Counts {
        let splits = codes.splits
        var fires = [Int](repeating: 0, count: codes.width)
        var splitSums = [Double](repeating: 0, count: splits.count)
        var failure: Error?
        let lock = NSLock()
        // Sized once for the largest pass: a buffer that grows is mapped anew, and the kernel
        // zeroes every page of it again on first touch (more time than the scatter itself).
        let buffers = ListBufferPool(entries: min(passEntries, splits.map(\.entryCount).max() ?? 0), latents: splits.map(\.latents.count).max() ?? 0)
        defer { buffers.deallocate() }
        // Progress in core rows, by the share of entries done.
        let totalEntries = max(1, codes.entryCount)
        var doneEntries = 0
        fires.withUnsafeMutableBufferPointer { fires in
            splitSums.withUnsafeMutableBufferPointer { splitSums in
                parallelFor(splits.count) { s in
                    do {
                        if lock.withLock({ failure != nil }) { return }
                        splitSums[s] = try runSplit(splits[s], fires: fires.baseAddress! + splits[s].latents.lowerBound, buffers: buffers,
                                                    prefetcher: prefetcher, record: record) { entries in
                            try lock.withLock {
                                if failure != nil || isCancelled() { throw SaescopeError("cancelled") }
                                doneEntries += entries
                                progress?(Int(Double(core.count) * Double(doneEntries) / Double(totalEntries)), core.count)
                            }
                        }
                    } catch {
                        lock.withLock { if failure == nil { failure = error } }
                    }
                }
            }
        }
        if let failure { throw failure }
        progress?(core.count, core.count)
        return Counts(fires: fires, absoluteSum: splitSums.reduce(0, +))
    }

    /// Starts reading what the pass reads from the disk, in the order `run` takes the splits,
    /// while the cores work on earlier ones; the window's token ids (exemplar contexts, read at
    /// random once the pass is done) come last. Stop it before the cache goes.
    func prefetch() -> SplitPrefetcher {
        SplitPrefetcher { [self] in
            window.isEmpty ? [] : codes.splits.flatMap { split in
                let reader = DelphiSplitReader(split: split, sequenceCount: codes.sequenceCount, contextLength: codes.contextLength)
                return reader.columnBytes(of: reader.entries(on: window))
            } + [tokenBytes(on: window)]
        }
    }

    /// The token matrix's ids of `rows`.
    private func tokenBytes(on rows: Range<Int>) -> UnsafeRawBufferPointer {
        let tokens = codes.tokens, size = tokens.dtype.byteSize
        return UnsafeRawBufferPointer(start: tokens.buffer.base + tokens.byteOffset + rows.lowerBound * size, count: rows.count * size)
    }

    /// One split: its window entries checked and counted per latent, then grouped by latent in
    /// passes of at most `passEntries` entries (at least one latent), each latent recorded.
    /// Returns the sum of |f| over core entries.
    private func runSplit(_ split: DelphiLatentCache.Split, fires: UnsafeMutablePointer<Int>, buffers: ListBufferPool,
                          prefetcher: SplitPrefetcher?, record: (Int, LatentList, Range<Int>, inout Double) -> Void, passDone: (Int) throws -> Void) throws -> Double {
        let reader = DelphiSplitReader(split: split, sequenceCount: codes.sequenceCount, contextLength: codes.contextLength)
        let width = split.latents.count
        let counts = UnsafeMutablePointer<UInt32>.allocate(capacity: width + 1)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: width + 1)
        let entries = try reader.checkedEntries(on: window, counts: counts)
        var absoluteSum = 0.0
        var latent = 0
        while latent < width {
            // The next latents whose lists fit the pass.
            var end = latent + 1, size = Int(counts[latent])
            while end < width, size + Int(counts[end]) <= passEntries { size += Int(counts[end]); end += 1 }
            let lists = buffers.take(entries: size, latents: end - latent)
            defer { buffers.give(lists) }
            var at: UInt32 = 0
            for o in latent..<end {
                lists.cursor[o - latent] = at
                at += counts[o]
            }
            reader.scatter(entries, latents: latent..<end, baseRow: window.lowerBound, cursor: lists.cursor.base, codes: lists.codes.base)
            // The cursors now sit at each list's end.
            var start = 0
            for o in latent..<end {
                let list = LatentList(codes: lists.codes.base + start, count: Int(counts[o]), baseRow: window.lowerBound)
                let first = list.firstEntry(atOrAfter: core.lowerBound), coreEnd = list.firstEntry(atOrAfter: core.upperBound)
                fires[o] = coreEnd - first
                record(split.latents.lowerBound + o, list, first..<coreEnd, &absoluteSum)
                start += Int(counts[o])
            }
            try passDone(size)
            latent = end
        }
        prefetcher?.consumed(reader.columnBytes(of: entries).reduce(0) { $0 + $1.count })
        return absoluteSum
    }
}

/// Reusable list buffers (rows, values, cursors) for the passes running at once, each made
/// with room for the largest pass (only the pages a pass touches are backed).
private final class ListBufferPool: @unchecked Sendable {
    struct Lists {
        var codes = HugePageBuffer<ck_code>()
        var cursor = GrowingBuffer<UInt32>()
    }

    private var free: [Lists] = []
    private let lock = NSLock()
    private let entries: Int
    private let latents: Int

    init(entries: Int, latents: Int) {
        self.entries = entries
        self.latents = latents
    }

    func take(entries: Int, latents: Int) -> Lists {
        var lists = lock.withLock { free.popLast() } ?? Lists()
        lists.codes.reserve(max(entries, self.entries))
        lists.cursor.reserve(max(latents, self.latents))
        return lists
    }

    func give(_ lists: Lists) { lock.withLock { free.append(lists) } }

    func deallocate() {
        for var lists in free {
            lists.codes.deallocate()
            lists.cursor.deallocate()
        }
    }
}
