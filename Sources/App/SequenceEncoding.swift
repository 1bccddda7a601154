import SAECore

/// The sequence drill-down's background work: a sequence's rows read from the cache and encoded
/// with saescope's own encoder (the one the index used). Rows that are not finite (the index
/// skipped them) are encoded as zeros and marked, so the screen shows them empty.
struct SequenceEncoding: @unchecked Sendable {
    var codes: LatentCodes
    var nonFinite: Set<Int>

    init(rows: Range<Int>, cache: ActivationCache, sae: SparseAutoencoder, isCancelled: () -> Bool = { false }) throws {
        let d = cache.dimension
        var floats = [Float](repeating: 0, count: rows.count * d)
        floats.withUnsafeMutableBufferPointer { cache.readRows(rows, into: $0.baseAddress!) }
        if isCancelled() { throw SaescopeError("cancelled") }
        var nonFinite: Set<Int> = []
        for p in 0..<rows.count where !floats[p * d..<(p + 1) * d].allSatisfy({ $0.isFinite }) {
            nonFinite.insert(p)
            for k in 0..<d { floats[p * d + k] = 0 }
        }
        codes = LatentCodes(encoding: Matrix(rows: rows.count, columns: d, values: floats.map(Double.init)), with: sae)
        self.nonFinite = nonFinite
    }
}
