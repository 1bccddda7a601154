import Foundation

/// The index file: a safetensors file (so it opens from Python too) holding every per-feature
/// table, the metric accumulator state, and JSON metadata (options, provenance, metrics).
public enum IndexFile {
    public static let formatVersion = "1"

    public static func write(_ index: FeatureIndex, to path: String) throws {
        let t = index.tables, o = index.options
        let f = t.featureCount, k = o.topK, w = o.contextWidth, n = o.intervals, m = o.perInterval
        let state = index.metrics.state
        var arrays: [Safetensors.ArrayEntry] = [
            .init("count", .int64, [f], t.count),
            .init("sum", .float64, [f], t.sum),
            .init("max", .float32, [f], t.maxValue),
            .init("range_exponent", .int32, [f], t.rangeExponent),
            .init("histogram", .int64, [f, o.bins], t.histogram),
            .init("top_count", .int32, [f], t.topCount),
            .init("top_value", .float32, [f, k], t.topValue),
            .init("top_row", .int64, [f, k], t.topRow),
            .init("top_context_acts", .float32, [f, k, w], t.topContext),
            .init("top_context_tokens", .int32, [f, k, w], t.topTokens),
            .init("interval_count", .int64, [f, n], t.intervalCount),
            .init("sample_count", .int32, [f, n], t.sampleCount),
            .init("sample_key", .int64, [f, n, m], t.sampleKey),  // the same bits
            .init("sample_row", .int64, [f, n, m], t.sampleRow),
            .init("sample_value", .float32, [f, n, m], t.sampleValue),
            .init("sample_context_acts", .float32, [f, n, m, w], t.sampleContext),
            .init("sample_context_tokens", .int32, [f, n, m, w], t.sampleTokens),
            .init("metric_scalars", .float64, [state.scalars.count], state.scalars),
            .init("metric_alive", .uint8, [f], state.alive),
            .init("metric_moments", .float64, [state.moments.count], state.moments),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var metadata: [String: String] = [
            "saescope_index_version": formatVersion,
            "input_dimension": "\(index.inputDimension)",
            "options": String(decoding: try encoder.encode(index.options), as: UTF8.self),
            "provenance": String(decoding: try encoder.encode(index.provenance), as: UTF8.self),
            "metrics": String(decoding: try encoder.encode(SafeMetrics(index.metrics.result())), as: UTF8.self),
        ]
        if let statistics = index.coreStatistics { addCoreStatistics(statistics, of: index, arrays: &arrays, metadata: &metadata) }
        try Safetensors.write(arrays: arrays, metadata: metadata, to: path)
    }

    /// The optional `core_*` tensors and metadata (see `IndexCoreStatistics`).
    private static func addCoreStatistics(_ statistics: IndexCoreStatistics, of index: FeatureIndex,
                                          arrays: inout [Safetensors.ArrayEntry], metadata: inout [String: String]) {
        let f = index.featureCount, positions = statistics.positions, b = positions.slotCount
        arrays += [
            .init("core_feature_tokens", .int64, [f], statistics.sequences.tokens),
            .init("core_feature_sequences", .int64, [f], statistics.sequences.sequences),
            .init("core_position_count", .int64, [b], positions.count),
            .init("core_position_squared_error", .float64, [b], positions.squaredError),
            .init("core_position_active", .float64, [b], positions.active),
        ]
        if let weights = statistics.weights {
            arrays += [
                .init("core_max_decoder_cosine", .float32, [f], weights.maxDecoderCosine),
                .init("core_max_encoder_cosine", .float32, [f], weights.maxEncoderCosine),
            ]
            // None for a transcoder whose input and output widths differ (no cosine between them).
            if !weights.encoderDecoderCosine.isEmpty {
                arrays.append(.init("core_encoder_decoder_cosine", .float32, [f], weights.encoderDecoderCosine))
            }
        }
        let excluded = statistics.excludedRows.map(String.init) ?? "null"
        let ids = statistics.excludedIDs.map(JSONWriter.quoted) ?? "null"
        metadata["core_rows"] = "{\"excluded_special\": \(excluded), \"excluded_ids\": \(ids)}"
        if let core = index.coreMetrics {
            metadata["core_metrics"] = "{" + CoreMetrics.definitions.map {
                let value = $0.value(core)
                return JSONWriter.quoted($0.key) + ": " + (value.isFinite ? "\(value)" : "null")
            }.joined(separator: ", ") + "}"
        }
    }

    /// The `core_*` tensors when the file has them (nil for files written before them).
    private static func readCoreStatistics(_ file: TensorDictionary, featureCount f: Int, tokens: Int64) throws -> IndexCoreStatistics? {
        guard file["core_feature_sequences"] != nil else { return nil }
        let tokensFired: [Int64] = try array(file, "core_feature_tokens", .int64, [f])
        let sequences: [Int64] = try array(file, "core_feature_sequences", .int64, [f])
        guard let bucketTensor = file["core_position_count"], bucketTensor.rank == 1, bucketTensor.shape[0] <= 64 else {
            throw SaescopeError("tensor 'core_position_count' must be 1-d with at most 64 position buckets")
        }
        let b = bucketTensor.shape[0]
        let count: [Int64] = try array(file, "core_position_count", .int64, [b])
        let squaredError: [Double] = try array(file, "core_position_squared_error", .float64, [b])
        let active: [Double] = try array(file, "core_position_active", .float64, [b])
        for j in 0..<f where !(tokensFired[j] >= 0 && tokensFired[j] <= tokens && sequences[j] >= 0 && sequences[j] <= tokensFired[j]) {
            throw SaescopeError("index feature \(j): core counts \(tokensFired[j]) tokens in \(sequences[j]) sequences do not fit \(tokens) tokens")
        }
        // Each bucket at most the tokens (so the sum of at most 64 cannot overflow), together all of them.
        guard count.allSatisfy({ $0 >= 0 && $0 <= tokens }), count.reduce(0, +) == tokens, squaredError.allSatisfy({ !($0 < 0) }), active.allSatisfy({ $0 >= 0 }) else {
            throw SaescopeError("index position buckets do not add up to its \(tokens) tokens")
        }
        var weights: WeightMetrics?
        if file["core_max_decoder_cosine"] != nil {
            weights = WeightMetrics(encoderDecoderCosine: file["core_encoder_decoder_cosine"] == nil ? [] : try array(file, "core_encoder_decoder_cosine", .float32, [f]),
                                    maxDecoderCosine: try array(file, "core_max_decoder_cosine", .float32, [f]),
                                    maxEncoderCosine: try array(file, "core_max_encoder_cosine", .float32, [f]))
        }
        var excludedRows: Int?, excludedIDs: String?
        if let text = file.metadata["core_rows"],
           let rows = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] {
            excludedRows = (rows["excluded_special"] as? NSNumber)?.intValue
            excludedIDs = rows["excluded_ids"] as? String
        }
        return IndexCoreStatistics(sequences: FeatureSequenceCounter(tokens: tokensFired, sequences: sequences),
                                   positions: PositionMetrics(buckets: count, squaredError: squaredError, active: active),
                                   weights: weights, excludedRows: excludedRows, excludedIDs: excludedIDs)
    }

    public static func read(path: String) throws -> FeatureIndex {
        let file = try Safetensors.read(path: path)
        return try attributingErrors(to: path) {
            guard file.metadata["saescope_index_version"] == formatVersion else {
                throw SaescopeError("not a saescope index (or one of another version: \(file.metadata["saescope_index_version"] ?? "none"))")
            }
            let decoder = JSONDecoder()
            guard let optionsText = file.metadata["options"], let provenanceText = file.metadata["provenance"],
                  let dimensionText = file.metadata["input_dimension"], let d = Int(dimensionText) else {
                throw SaescopeError("index metadata is incomplete")
            }
            // D = 0: an index built from codes alone (delphi latents, no dictionary given).
            guard d >= 0, d <= IndexValidation.maximumInputDimension else {
                throw SaescopeError("index input_dimension \(d) is out of range")
            }
            let options: FeatureIndexOptions
            let provenance: IndexProvenance
            do {
                options = try decoder.decode(FeatureIndexOptions.self, from: Data(optionsText.utf8))
                provenance = try decoder.decode(IndexProvenance.self, from: Data(provenanceText.utf8))
            } catch {
                throw SaescopeError("index metadata is malformed")
            }
            do { try options.validate() } catch let error as SaescopeError {
                throw SaescopeError("index options are invalid (\(error.message))")
            }
            let count = try file.require("count")
            guard count.rank == 1 else { throw SaescopeError("tensor 'count' must be 1-d") }
            guard count.shape[0] > 0 else { throw SaescopeError("index has no features") }
            let f = count.shape[0], k = options.topK, w = options.contextWidth, n = options.intervals, m = options.perInterval
            // Per-feature summaries are read; the exemplar tables (most of the file) stay in the
            // map, and a feature's exemplars are paged in when they are looked at.
            let t = try FeatureTables(
                featureCount: f, options: options,
                count: array(file, "count", .int64, [f]), sum: array(file, "sum", .float64, [f]),
                maxValue: array(file, "max", .float32, [f]), rangeExponent: array(file, "range_exponent", .int32, [f]),
                histogram: array(file, "histogram", .int64, [f, options.bins]),
                topCount: array(file, "top_count", .int32, [f]), topValue: array(file, "top_value", .float32, [f, k]),
                topRow: array(file, "top_row", .int64, [f, k]), topContext: column(file, "top_context_acts", .float32, [f, k, w]),
                topTokens: column(file, "top_context_tokens", .int32, [f, k, w]),
                intervalCount: array(file, "interval_count", .int64, [f, n]), sampleCount: array(file, "sample_count", .int32, [f, n]),
                sampleKey: column(file, "sample_key", .int64, [f, n, m]), sampleRow: column(file, "sample_row", .int64, [f, n, m]),
                sampleValue: column(file, "sample_value", .float32, [f, n, m]),
                sampleContext: column(file, "sample_context_acts", .float32, [f, n, m, w]),
                sampleTokens: column(file, "sample_context_tokens", .int32, [f, n, m, w]))
            let scalars: [Double] = try array(file, "metric_scalars", .float64, [10])
            let alive: [UInt8] = try array(file, "metric_alive", .uint8, [f])
            // An index built from codes alone (delphi latents) has metrics over no input dimensions.
            let metricDimension = file["metric_moments"]?.shape == [2] ? 0 : d
            let moments: [Double] = try array(file, "metric_moments", .float64, [2 * (1 + 2 * metricDimension)])
            try IndexValidation.check(tables: t, scalars: scalars, alive: alive, moments: moments, provenance: provenance)
            let metrics = try MetricsAccumulator(inputDimension: metricDimension, featureCount: f, scalars: scalars, alive: alive, moments: moments)
            let statistics = try readCoreStatistics(file, featureCount: f, tokens: Int64(metrics.tokenCount))
            return FeatureIndex(tables: t, metrics: metrics, provenance: provenance.resolvingRelativePaths(indexPath: path), inputDimension: d,
                                coreStatistics: statistics)
        }
    }

    /// Tensor `name`, which must have exactly `dtype` and `shape`.
    private static func checked(_ file: TensorDictionary, _ name: String, _ dtype: DType, _ shape: [Int], stride: Int) throws -> Tensor {
        let tensor = try file.require(name, shape: shape)
        guard tensor.dtype == dtype, stride == dtype.byteSize else {
            throw SaescopeError("tensor '\(name)' is \(tensor.dtype.rawValue), expected \(dtype.rawValue)")
        }
        return tensor
    }

    /// Copies tensor `name` (see `checked`) into a Swift array.
    private static func array<T>(_ file: TensorDictionary, _ name: String, _ dtype: DType, _ shape: [Int]) throws -> [T] {
        let tensor = try checked(file, name, dtype, shape, stride: MemoryLayout<T>.stride)
        return [T](unsafeUninitializedCapacity: tensor.elementCount) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: tensor.rawBytes)
            initialized = tensor.elementCount
        }
    }

    /// Views tensor `name` (see `checked`) in place.
    private static func column<T>(_ file: TensorDictionary, _ name: String, _ dtype: DType, _ shape: [Int]) throws -> TableColumn<T> {
        let tensor = try checked(file, name, dtype, shape, stride: MemoryLayout<T>.stride)
        return TableColumn(viewing: tensor.buffer.base + tensor.byteOffset, count: tensor.elementCount, in: tensor.buffer)
    }
}

extension Safetensors.ArrayEntry {
    /// A tensor written straight from a table column (owned or mapped), without a copy.
    init<T>(_ name: String, _ dtype: DType, _ shape: [Int], _ column: TableColumn<T>) {
        precondition(MemoryLayout<T>.stride == dtype.byteSize && elementCount(of: shape) == column.count,
                     "tensor '\(name)' does not match its dtype or shape")
        self.name = name
        self.dtype = dtype
        self.shape = shape
        byteCount = column.count * dtype.byteSize
        emit = { writer in try column.withUnsafeBytes { try writer.write($0) } }
    }
}

/// Metrics for the JSON metadata: JSON has no NaN, so non-finite values become null.
struct SafeMetrics: Encodable {
    let metrics: DictionaryMetrics
    init(_ metrics: DictionaryMetrics) { self.metrics = metrics }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        for definition in MetricDefinition.all {
            let value = definition.value(metrics)
            if value.isFinite { try container.encode(value, forKey: DynamicKey(definition.key)) } else { try container.encodeNil(forKey: DynamicKey(definition.key)) }
        }
        try container.encode(metrics.tokenCount, forKey: DynamicKey("n_tokens"))
        try container.encode(metrics.skippedCount, forKey: DynamicKey("n_skipped"))
    }

    struct DynamicKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
