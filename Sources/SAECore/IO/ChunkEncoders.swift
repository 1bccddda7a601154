/// The chunk pipeline's two encoders: chunk i is encoded by encoder i % 2, so one encodes while
/// the other's codes are still being recorded (`ChunkPipeline`). The second shares the first's
/// run scratch (`SAEEncoder(takingTurnsWith:)`: the two never run at once) and is made only for
/// a pass of more than one chunk, beside the first encode.
final class ChunkEncoders {
    private var even: SAEEncoder?
    private var odd: SAEEncoder?

    /// The first encoder: the pipeline's `setUp` (its weight conversion is what the first encode needs).
    func makeFirst(_ sae: SparseAutoencoder, maxRows: Int) {
        even = SAEEncoder(sae: sae, maxRows: maxRows)
    }

    /// The second, when the pass has more than one chunk: the pipeline's `prepare`.
    func makeSecond(chunkCount: Int) {
        if chunkCount > 1 { odd = SAEEncoder(takingTurnsWith: even!) }
    }

    subscript(chunk: Int) -> SAEEncoder { chunk % 2 == 0 ? even! : odd! }

    /// The path the encoders took (nil before the first is made).
    var path: EncodePath? { even?.path }

    /// What the screened path did over both encoders' chunks.
    var screenedStatistics: ScreenedEncodeStatistics {
        [even, odd].compactMap { $0?.screenedStatistics }.reduce(ScreenedEncodeStatistics()) { $0.adding($1) }
    }
}
