/// Column headers for side-by-side tables of SAEBench's core metrics (`compare`, the compare
/// screen), next to `MetricDefinition.shortLabel`.
extension CoreMetrics.Definition {
    public var shortLabel: String { Self.shortLabels[key] ?? label }

    private static let shortLabels: [String: String] = [
        "freq_over_1_percent": "f>1%", "freq_over_10_percent": "f>10%",
        "normalized_freq_over_1_percent": "sh>1%", "normalized_freq_over_10_percent": "sh>10%",
        "average_max_decoder_cosine_sim": "dec.max", "average_max_encoder_cosine_sim": "enc.max",
        "encoder_decoder_cosine_sim": "enc-dec", "projection_scale": "proj.scale",
    ]
}
