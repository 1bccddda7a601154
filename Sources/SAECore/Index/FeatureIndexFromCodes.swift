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
            if batch.rowCount >= Self.batchRows || batch.entryCount >= Self.batchEntries || coreEnd == rows.upperBound {
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
/// encoder hands them out. Buffers are reused from chunk to chunk.
struct SparseRowsBuffer {
    private var rowStart: [Int] = []
    private var features: [Int32] = []
    private var values: [Float] = []
    // Gathered in split order, then placed row by row (a counting sort).
    private var entryRow: [Int32] = []
    private var entryFeature: [Int32] = []
    private var entryValue: [Float] = []

    mutating func gather(_ rows: Range<Int>, from cursors: inout [DelphiSplitCursor]) throws {
        entryRow.removeAll(keepingCapacity: true)
        entryFeature.removeAll(keepingCapacity: true)
        entryValue.removeAll(keepingCapacity: true)
        for s in cursors.indices {
            let cursor = cursors[s]
            try cursors[s].visit(rows) { row, latent, entry in
                entryRow.append(Int32(row - rows.lowerBound))
                entryFeature.append(Int32(latent))
                entryValue.append(cursor.value(entry))
            }
        }
        let n = rows.count, total = entryRow.count
        rowStart = [Int](repeating: 0, count: n + 1)
        for r in entryRow { rowStart[Int(r) + 1] += 1 }
        for r in 0..<n { rowStart[r + 1] += rowStart[r] }
        var next = Array(rowStart[0..<n])
        features = [Int32](repeating: 0, count: total)
        values = [Float](repeating: 0, count: total)
        for e in 0..<total {
            let r = Int(entryRow[e])
            features[next[r]] = entryFeature[e]
            values[next[r]] = entryValue[e]
            next[r] += 1
        }
    }

    func withRows<T>(_ body: (SparseCodeRows) throws -> T) rethrows -> T {
        try rowStart.withUnsafeBufferPointer { rowStart in
            try features.withUnsafeBufferPointer { features in
                try values.withUnsafeBufferPointer { values in
                    try body(SparseCodeRows(rowStart: rowStart.baseAddress!, features: features.baseAddress ?? UnsafePointer(bitPattern: 8)!,
                                            values: values.baseAddress ?? UnsafePointer(bitPattern: 8)!))
                }
            }
        }
    }
}
