import SAECore

/// What `/` searches: per feature, the decoded text of its top exemplars' contexts (as the index
/// stores them), lowercased, one exemplar per line so a phrase never spans two exemplars.
///
/// The text is the tokenizer decoder's: each token's piece (`TokenizerVocabulary.piece`, the
/// decoder run on that token: `##net` -> `net`, `Ġthe` / `▁the` -> ` the`) joined, which is the
/// decoded sequence for WordPiece, Metaspace and byte-level BPE up to the first token's leading
/// space. A piece holding part of a UTF-8 character (byte-level BPE, byte fallback) shows U+FFFD
/// alone: an exemplar with one is decoded whole instead. Pieces are lowercased once per
/// vocabulary entry and features' texts built on first use and kept while their top exemplars'
/// rows stay the same (a shard merged into a partial index changes only some), so a keystroke
/// only scans bytes.
final class ExemplarSearchText {
    /// Per feature: the cache rows of its top exemplars when the text was made, and the text.
    private var texts: [(rows: [Int64], bytes: [UInt8])?] = []
    /// The index shape the texts were made for (another context width invalidates them all).
    private var shape: (features: Int, topK: Int, width: Int) = (0, 0, 0)
    /// Lowercased UTF-8 of each token's piece, and whether it is a partial character, by id.
    private var pieces: [(bytes: [UInt8], partial: Bool)?] = []

    /// Feature `j`'s lowercased search text as UTF-8.
    func text(of j: Int, index: FeatureIndex, session: DictionarySession) -> [UInt8] {
        let width = index.options.contextWidth
        if shape != (index.featureCount, index.options.topK, width) {
            shape = (index.featureCount, index.options.topK, width)
            texts = Array(repeating: nil, count: index.featureCount)
        }
        let slots = (j * index.options.topK)..<(j * index.options.topK + index.topExemplarCount(j))
        let rows = index.tables.topRow[slots]
        if let cached = texts[j], cached.rows.elementsEqual(rows) { return cached.bytes }
        var text: [UInt8] = []
        text.reserveCapacity(index.topExemplarCount(j) * width * 8)
        for rank in 0..<index.topExemplarCount(j) {
            if rank > 0 { text.append(0x0A) }
            appendText(of: j, rank: rank, index: index, session: session, to: &text)
        }
        texts[j] = (Array(rows), text)  // a copy: a slice would keep each partial index's table alive
        return text
    }

    /// The lowercased text of feature `j`'s top exemplar `rank`, appended to `text`.
    private func appendText(of j: Int, rank: Int, index: FeatureIndex, session: DictionarySession, to text: inout [UInt8]) {
        let width = index.options.contextWidth
        let base = (j * index.options.topK + rank) * width
        let ids = index.tables.topTokens[base..<(base + width)].filter { $0 >= 0 }
        let start = text.count
        for id in ids {
            let piece = self.piece(id, session: session)
            if piece.partial {
                text.removeSubrange(start...)
                text.append(contentsOf: session.decodedText(Array(ids)).lowercased().utf8)
                return
            }
            text.append(contentsOf: piece.bytes)
        }
    }

    /// The first of feature `j`'s top exemplars (by rank) whose text holds `query`, if any: the
    /// one a search hit opens.
    func firstMatchingRank(_ query: String, of j: Int, index: FeatureIndex, session: DictionarySession) -> Int? {
        let needle = Array(query.lowercased().utf8)
        guard !needle.isEmpty else { return nil }
        var text: [UInt8] = []
        for rank in 0..<index.topExemplarCount(j) {
            text.removeAll(keepingCapacity: true)
            appendText(of: j, rank: rank, index: index, session: session, to: &text)
            if Self.contains(text, needle) { return rank }
        }
        return nil
    }

    private func piece(_ id: Int32, session: DictionarySession) -> (bytes: [UInt8], partial: Bool) {
        let i = Int(id)
        if i < pieces.count, let known = pieces[i] { return known }
        if i >= pieces.count { pieces += Array(repeating: nil, count: i + 1 - pieces.count) }
        let text = session.tokenText(id)
        let piece = (Array(text.lowercased().utf8), text.unicodeScalars.contains("\u{FFFD}"))
        pieces[i] = piece
        return piece
    }

    /// The positions in `rows` of the features whose text contains `query` (case-insensitive).
    func hits(_ query: String, in rows: [Int], index: FeatureIndex, session: DictionarySession) -> [Int] {
        let needle = Array(query.lowercased().utf8)
        guard !needle.isEmpty else { return [] }
        var hits: [Int] = []
        for (position, j) in rows.enumerated() where Self.contains(text(of: j, index: index, session: session), needle) {
            hits.append(position)
        }
        return hits
    }

    /// Byte substring search: UTF-8 is self-synchronising, so a byte match is a character match.
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        let n = needle.count, h = haystack.count
        guard n > 0, n <= h else { return n == 0 }
        let first = needle[0]
        return haystack.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { nee in
                var i = 0
                while i <= h - n {
                    if hay[i] == first {
                        var k = 1
                        while k < n, hay[i + k] == nee[k] { k += 1 }
                        if k == n { return true }
                    }
                    i += 1
                }
                return false
            }
        }
    }
}
