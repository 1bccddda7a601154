import Foundation

extension FeatureIndexBuilder {
    /// Builds the index from codes already computed (a delphi latent cache) instead of encoding:
    /// chunks of rows are gathered from the splits into the same per-chunk sparse rows the
    /// encoder produces and go through the same `ActivationBatch` / `FeatureAccumulator` path,
    /// so the index equals the one encoding the same codes would give. There are no activations,
    /// so the dictionary metrics hold only what codes give (tokens, L0, L1, alive features).
    /// `sae`, when given, must have the splits' width; its input dimension is recorded so the
    /// index opens with it (decoder neighbours, logit effects).
    public static func build(
        codes: DelphiLatentCache, sae: SparseAutoencoder?, saePath: String?, options: FeatureIndexOptions,
        chunkRows requestedChunkRows: Int? = nil, progress: Progress? = nil, isCancelled: () -> Bool = { false }
    ) throws -> FeatureIndex {
        try options.validate()
        let f = codes.width, c = options.context
        if let sae { try codes.requireWidth(sae.featureCount, dictionary: saePath ?? sae.provenance.weightsPath) }
        let offsets = codes.sequenceOffsets
        let rows = rowRange(sequenceOffsets: offsets, options: options)
        if options.firstToken != nil, rows.isEmpty {
            throw SaescopeError("the token window is empty: the cache has \(codes.rowCount) tokens", file: codes.directory)
        }
        let chunkRows = max(1, requestedChunkRows ?? 4096)
        let accumulator = FeatureAccumulator(featureCount: f, options: options)
        let batch = ActivationBatch(featureCount: f, context: c)
        var metrics = MetricsAccumulator(inputDimension: 0, featureCount: f)
        var cursors = codes.splits.map { DelphiSplitCursor(split: $0, sequenceCount: codes.sequenceCount, contextLength: codes.contextLength) }
        let length = codes.contextLength
        let finite = [Bool](repeating: true, count: chunkRows + 2 * c)
        var gathered = SparseRowsBuffer()
        defer { gathered.deallocate() }
        let noInput = [Float](repeating: 0, count: 1)

        var coreStart = rows.lowerBound
        while coreStart < rows.upperBound {
            if isCancelled() { throw SaescopeError("cancelled") }
            let coreEnd = min(coreStart + chunkRows, rows.upperBound)
            // Every sequence is one batch row of `length` tokens.
            let encodeStart = max((coreStart / length) * length, coreStart - c)
            let encodeEnd = min(((coreEnd - 1) / length + 1) * length, coreEnd + c)
            try gathered.gather(encodeStart..<encodeEnd, from: &cursors)

            gathered.withRows { all in
                let core = SparseCodeRows(rowStart: all.rowStart + (coreStart - encodeStart), features: all.features, values: all.values)
                noInput.withUnsafeBufferPointer { zero in
                    metrics.add(x: zero.baseAddress!, reconstruction: zero.baseAddress!, activeCodes: core, rows: coreEnd - coreStart)
                }
                batch.append(all, encoded: encodeStart..<encodeEnd, finite: finite, core: coreStart..<coreEnd) { row in
                    (row / length) * length..<(row / length + 1) * length
                }
            }
            if batch.rowCount >= Self.codesBatchRows || batch.entryCount >= Self.codesBatchEntries || coreEnd == rows.upperBound {
                batch.regroup()
                accumulator.record(batch, minimum: options.minActivation)
                batch.clear()
            }
            progress?(coreEnd - rows.lowerBound, rows.count)
            coreStart = coreEnd
        }

        var tables = accumulator.makeTables()
        fillContextTokens(&tables, tokenMatrix: codes.tokens, sequenceOffsets: offsets)
        let provenance = IndexProvenance(
            saePath: saePath ?? "", saeFingerprint: sae.map { fileFingerprint($0.provenance.weightsPath) } ?? "",
            cachePath: codes.directory, cacheFingerprint: codes.fingerprint(),
            firstRow: rows.lowerBound, endRow: rows.upperBound,
            shards: [options.shardIndex], shardCount: options.shardCount, cacheMetadata: codes.metadata)
        return FeatureIndex(tables: tables, metrics: metrics, provenance: provenance, inputDimension: sae?.inputDimension ?? 0)
    }
}

/// The nonzero codes of a range of rows gathered from the splits, row by row (CSR), as the
/// encoder hands them out: the entries of each split are counted per row, then placed (a
/// counting sort across splits). Buffers are reused from chunk to chunk.
struct SparseRowsBuffer {
    private var rowStart = GrowingBuffer<Int>()
    private var features = GrowingBuffer<Int32>()
    private var values = GrowingBuffer<Float>()
    private var next = GrowingBuffer<Int>()
    private var rowCount = 0

    mutating func gather(_ rows: Range<Int>, from cursors: inout [DelphiSplitCursor]) throws {
        let first = rows.lowerBound, n = rows.count
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(cursors.count)
        for s in cursors.indices { ranges.append(try cursors[s].entries(in: rows)) }
        let total = ranges.reduce(0) { $0 + $1.count }
        rowStart.reserve(n + 1)
        next.reserve(n)
        features.reserve(max(total, 1))
        values.reserve(max(total, 1))
        let rowStart = self.rowStart, next = self.next, features = self.features, values = self.values
        rowStart.base.update(repeating: 0, count: n + 1)
        for (s, range) in ranges.enumerated() {
            cursors[s].forEach(range) { row, _, _ in rowStart[row - first + 1] += 1 }
        }
        for r in 0..<n { rowStart[r + 1] += rowStart[r] }
        next.base.update(from: rowStart.base, count: n)
        for (s, range) in ranges.enumerated() {
            cursors[s].forEach(range) { row, latent, value in
                let at = next[row - first]
                features[at] = latent
                values[at] = value
                next[row - first] = at + 1
            }
        }
        rowCount = n
    }

    func withRows<T>(_ body: (SparseCodeRows) throws -> T) rethrows -> T {
        try body(SparseCodeRows(rowStart: UnsafePointer(rowStart.base), features: UnsafePointer(features.base), values: UnsafePointer(values.base)))
    }

    func deallocate() {
        rowStart.deallocate()
        features.deallocate()
        values.deallocate()
        next.deallocate()
    }
}

extension FeatureIndexBuilder {
    /// Only the reading half of `build(codes:)`: every row's codes gathered from the splits in
    /// chunks, as the index pass does, without recording them. Returns the codes read (benchmarks).
    public static func gatherCodes(_ codes: DelphiLatentCache, chunkRows: Int = 4096) throws -> Int {
        var cursors = codes.splits.map { DelphiSplitCursor(split: $0, sequenceCount: codes.sequenceCount, contextLength: codes.contextLength) }
        var gathered = SparseRowsBuffer()
        defer { gathered.deallocate() }
        var total = 0
        var start = 0
        while start < codes.rowCount {
            let end = min(start + chunkRows, codes.rowCount)
            try gathered.gather(start..<end, from: &cursors)
            total += gathered.withRows { $0.rowStart[end - start] }
            start = end
        }
        return total
    }
}
