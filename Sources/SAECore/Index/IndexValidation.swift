/// An index file is untrusted input like any dictionary: every field is checked when it is read,
/// so a tampered or damaged file gives a one-line error instead of a crash (or a hang) later in
/// export, merge, compare or the browser. The exemplar context tables stay in the memory map
/// unchecked: their values are only ever shown (NaN and unknown token ids display as such).
enum IndexValidation {
    /// Largest activation dimension an index may declare (its metric moments hold 4D + 2 values).
    static let maximumInputDimension = 1 << 32
    /// A feature that fired has a range [0, 2^e) with max < 2^e: e lies within Float's exponents.
    static let exponentRange: ClosedRange<Int32> = -160...160

    static func check(tables t: FeatureTables, scalars: [Double], alive: [UInt8], moments: [Double],
                      provenance p: IndexProvenance) throws {
        let o = t.options, f = t.featureCount, k = o.topK, n = o.intervals, m = o.perInterval
        // The counts become Ints; the sums may be NaN (a dictionary with NaN weights has NaN
        // metrics, shown as such) but never negative.
        for position in [0, 8, 9] where !isCount(scalars[position]) {
            throw SaescopeError("index metric count \(position) is \(scalars[position]), not a whole number of tokens")
        }
        guard !(scalars[2] < 0), !(scalars[3] < 0), !(scalars[5] < 0) else { throw SaescopeError("index metric sums are negative") }
        guard isCount(moments[0]), isCount(moments[moments.count / 2]) else {
            throw SaescopeError("index metric moments have a bad count")
        }
        guard alive.allSatisfy({ $0 <= 1 }) else { throw SaescopeError("index metric_alive holds values other than 0 and 1") }
        let tokens = Int64(scalars[0])

        guard p.firstRow >= 0, p.endRow >= p.firstRow else {
            throw SaescopeError("index provenance rows \(p.firstRow)..<\(p.endRow) are not a range of the cache")
        }
        guard p.shardCount >= 1, !p.shards.isEmpty, p.shards.allSatisfy({ $0 >= 0 && $0 < p.shardCount }),
              Set(p.shards).count == p.shards.count else {
            throw SaescopeError("index provenance shards \(p.shards.prefix(8)) are not distinct shards of \(p.shardCount)")
        }

        for j in 0..<f {
            func fail(_ what: String) -> SaescopeError { SaescopeError("index feature \(j): \(what)") }
            let count = t.count[j]
            guard count >= 0, count <= tokens else { throw fail("count \(count) is outside 0...\(tokens) tokens") }
            guard t.sum[j].isFinite, t.sum[j] >= 0 else { throw fail("sum \(t.sum[j]) is not a finite non-negative number") }
            guard t.maxValue[j].isFinite, t.maxValue[j] >= 0 else { throw fail("max \(t.maxValue[j]) is not a finite non-negative number") }
            let exponent = t.rangeExponent[j]
            guard exponentRange.contains(exponent) || (count == 0 && exponent == Int32.min) else {
                throw fail("range exponent \(exponent) is out of range")
            }
            if count > 0, Double(t.maxValue[j]) >= Double(sign: .plus, exponent: Int(exponent), significand: 1) {
                throw fail("max \(t.maxValue[j]) lies outside its histogram range [0, 2^\(exponent))")
            }
            for bin in j * o.bins..<(j + 1) * o.bins where t.histogram[bin] < 0 || t.histogram[bin] > count {
                throw fail("histogram bin \(bin - j * o.bins) holds \(t.histogram[bin]), outside 0...\(count)")
            }
            guard t.topCount[j] >= 0, Int(t.topCount[j]) <= k else { throw fail("top exemplar count \(t.topCount[j]) is outside 0...\(k)") }
            for slot in j * k..<j * k + Int(t.topCount[j]) {
                guard t.topValue[slot].isFinite, t.topValue[slot] >= 0 else { throw fail("a top exemplar's value \(t.topValue[slot]) is not a finite non-negative number") }
                guard t.topRow[slot] >= 0, t.topRow[slot] < Int64(p.endRow) || p.endRow == 0 else {
                    throw fail("top exemplar row \(t.topRow[slot]) is outside the indexed rows 0..<\(p.endRow)")
                }
            }
            for cell in j * n..<(j + 1) * n {
                guard t.intervalCount[cell] >= 0, t.intervalCount[cell] <= count else {
                    throw fail("interval \(cell - j * n) count \(t.intervalCount[cell]) is outside 0...\(count)")
                }
                guard t.sampleCount[cell] >= 0, Int(t.sampleCount[cell]) <= m else {
                    throw fail("interval \(cell - j * n) sample count \(t.sampleCount[cell]) is outside 0...\(m)")
                }
                for slot in cell * m..<cell * m + Int(t.sampleCount[cell]) {
                    guard t.sampleValue[slot].isFinite, t.sampleValue[slot] >= 0, t.sampleRow[slot] >= 0 else {
                        throw fail("an interval exemplar has a negative or non-finite value, or a negative row")
                    }
                }
            }
        }
    }

    /// A whole, non-negative number of tokens that converts to Int exactly.
    static func isCount(_ value: Double) -> Bool {
        value.isFinite && value >= 0 && value < 0x1p62 && value == value.rounded()
    }
}
