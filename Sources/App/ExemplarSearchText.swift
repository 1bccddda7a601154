import SAECore

/// What `/` searches: per feature, the decoded text of its top exemplars' contexts (as the index
/// stores them), lowercased, one exemplar per line so a phrase never spans two exemplars.
/// Decoding runs the tokenizer's own decoder over each context (WordPiece `##` joins, byte-level
/// BPE, Metaspace), so a word split into tokens (`ben` `##net`) reads whole. Built lazily per
/// feature and kept until the index changes: the first search decodes each listed feature
/// once, every later keystroke only scans bytes.
final class ExemplarSearchText {
    private var texts: [[UInt8]?] = []

    /// Forgets every text (a new or partial index has other exemplars).
    func reset() { texts = [] }

    /// Feature `j`'s lowercased search text as UTF-8.
    func text(of j: Int, index: FeatureIndex, session: DictionarySession) -> [UInt8] {
        if texts.count != index.featureCount { texts = Array(repeating: nil, count: index.featureCount) }
        if let cached = texts[j] { return cached }
        var lines: [String] = []
        for rank in 0..<index.topExemplarCount(j) {
            lines.append(session.decodedText(index.topExemplar(j, rank: rank).contextTokens.filter { $0 >= 0 }))
        }
        let text = Array(lines.joined(separator: "\n").lowercased().utf8)
        texts[j] = text
        return text
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
