import Foundation

/// The JSON forms of a comparison: the summary `compare --json` prints and the full matching
/// `compare --out` writes. Keys keep the order below; numbers are shortest round-trip decimals;
/// non-finite numbers become null.
///
/// ```
/// {
///   "version": 1, "kind": "saescope.compare",
///   "a": identity, "b": identity,            // identity: path, library, kind, weights, config,
///                                              //   input_dimension, feature_count, fingerprint, zero_decoder_rows
///   "similarity": "...",                       // the definition of the cosine used
///   "top": 5,
///   "a_to_b": direction, "b_to_a": direction, // direction: mean_best_cosine, median_best_cosine,
///                                              //   threshold_counts [{threshold, count}],
///                                              //   histogram {lower, upper, counts}
///                                              //   full only: best [F], best_cosine [F], matches [F][top], cosines [F][top]
///   "assignment": {method, description, rounds, pairs, mean_cosine, unmatched_a, unmatched_b,
///                  full only: a [P], b [P], cosine [P], agreement [P] (with indexes)},
///   "random_baseline": {definition, seed, feature_count,   // A against a seeded random dictionary of B's shape
///                       a_to_random, random_to_a (direction summaries), assignment {method, pairs, mean_cosine},
///                       chance_a_to_b, chance_b_to_a},     // expected best cosine of F random directions (ChanceLevel)
///   "metrics": {acts, a {...eval keys}, b {...}}           // only with --acts
///   "activation_agreement": {cache, top_k_a, top_k_b, mean, evaluated_pairs,
///                            above_threshold [{threshold, mean, pairs}]}  // only with indexes
///   "timing": {matching_seconds, assignment_seconds, baseline_seconds (with the baseline)},
///   "warnings": [...]
/// }
/// ```
public enum ComparisonJSON {
    public static let version = 1

    public static func summary(_ comparison: DictionaryComparison) -> String { render(comparison, full: false) }
    public static func full(_ comparison: DictionaryComparison) -> String { render(comparison, full: true) }

    /// Writes the full matching atomically.
    public static func write(_ comparison: DictionaryComparison, to path: String) throws {
        try AtomicFile.write(Array(full(comparison).utf8) + [0x0A], to: path)
    }

    static func render(_ c: DictionaryComparison, full: Bool) -> String {
        var w = JSONWriter()
        w.object { w in
            w.key("version"); w.int(version)
            w.key("kind"); w.string("saescope.compare")
            w.key("a"); identity(&w, c.a, zeroRows: c.zeroRowsA)
            w.key("b"); identity(&w, c.b, zeroRows: c.zeroRowsB)
            w.key("similarity"); w.string("cosine of decoder rows, each normalised to unit length (a zero row has cosine 0 with every row); ties go to the lower index")
            w.key("top"); w.int(c.options.top)
            w.key("a_to_b"); direction(&w, c.summaryAToB, c.matching.aToB, top: c.options.top, full: full)
            w.key("b_to_a"); direction(&w, c.summaryBToA, c.matching.bToA, top: c.options.top, full: full)
            w.key("assignment"); assignment(&w, c.assignment, agreement: c.agreement, full: full)
            if let baseline = c.baseline {
                w.key("random_baseline")
                w.object { w in
                    w.key("definition"); w.string("A matched against a random dictionary of B's shape: each row a seeded standard-normal vector normalised to unit length; same statistics and assignment rule")
                    w.key("seed"); w.int(Int(truncatingIfNeeded: baseline.seed))
                    w.key("feature_count"); w.int(baseline.featureCount)
                    w.key("a_to_random"); summary(&w, baseline.summaryAToRandom)
                    w.key("random_to_a"); summary(&w, baseline.summaryRandomToA)
                    w.key("assignment")
                    w.object { w in
                        w.key("method"); w.string(baseline.assignmentMethod.rawValue)
                        w.key("pairs"); w.int(baseline.assignmentPairs)
                        w.key("mean_cosine"); w.double(baseline.assignmentMeanCosine)
                    }
                    w.key("chance_a_to_b"); w.double(ChanceLevel.expectedMaxCosine(dimension: c.a.outputDimension, count: c.b.featureCount))
                    w.key("chance_b_to_a"); w.double(ChanceLevel.expectedMaxCosine(dimension: c.a.outputDimension, count: c.a.featureCount))
                }
            }
            if let ma = c.metricsA, let mb = c.metricsB {
                w.key("metrics")
                w.object { w in
                    w.key("acts"); w.optionalString(c.metricsCachePath)
                    w.key("a"); metrics(&w, ma, core: c.coreA)
                    w.key("b"); metrics(&w, mb, core: c.coreB)
                }
            }
            if let agreement = c.agreement {
                w.key("activation_agreement")
                w.object { w in
                    w.key("definition"); w.string("Jaccard overlap |rows_a ∩ rows_b| / |rows_a ∪ rows_b| of the top-exemplar cache rows of each assigned pair; pairs where neither feature fired are left out")
                    w.key("cache"); w.string(agreement.cachePath)
                    w.key("top_k_a"); w.int(agreement.topKA)
                    w.key("top_k_b"); w.int(agreement.topKB)
                    w.key("mean"); w.optionalDouble(agreement.mean)
                    w.key("evaluated_pairs"); w.int(agreement.evaluatedPairs)
                    w.key("above_threshold")
                    w.array(agreement.meanAboveThreshold) { w, entry in
                        w.object { w in
                            w.key("threshold"); w.float(entry.threshold)
                            w.key("mean"); w.optionalDouble(entry.mean)
                            w.key("pairs"); w.int(entry.pairs)
                        }
                    }
                }
            }
            w.key("timing")
            w.object { w in
                w.key("matching_seconds"); w.double(c.matchingSeconds)
                w.key("assignment_seconds"); w.double(c.assignmentSeconds)
                if let baseline = c.baseline { w.key("baseline_seconds"); w.double(baseline.seconds) }
            }
            w.key("warnings"); w.array(c.warnings) { w, text in w.string(text) }
        }
        return w.text
    }

    private static func identity(_ w: inout JSONWriter, _ id: DictionaryIdentity, zeroRows: Int) {
        w.object { w in
            w.key("path"); w.string(id.path)
            w.key("library"); w.string(id.library)
            w.key("kind"); w.string(id.kind)
            w.key("weights"); w.string(id.weightsPath)
            w.key("config"); w.optionalString(id.configPath)
            w.key("input_dimension"); w.int(id.inputDimension)
            w.key("feature_count"); w.int(id.featureCount)
            w.key("fingerprint"); w.string(id.fingerprint)
            w.key("zero_decoder_rows"); w.int(zeroRows)
        }
    }

    private static func summary(_ w: inout JSONWriter, _ s: MatchSummary) {
        w.object { w in summaryFields(&w, s) }
    }

    private static func summaryFields(_ w: inout JSONWriter, _ s: MatchSummary) {
        w.key("mean_best_cosine"); w.double(s.meanBestCosine)
        w.key("median_best_cosine"); w.double(s.medianBestCosine)
        w.key("threshold_counts")
        w.array(s.thresholdCounts) { w, entry in
            w.object { w in
                w.key("threshold"); w.float(entry.threshold)
                w.key("count"); w.int(entry.count)
            }
        }
        w.key("histogram")
        w.object { w in
            w.key("lower"); w.double(s.histogram.lower)
            w.key("upper"); w.double(s.histogram.upper)
            w.key("counts"); w.array(s.histogram.counts) { w, n in w.int(n) }
        }
    }

    private static func direction(_ w: inout JSONWriter, _ s: MatchSummary, _ m: FeatureMatches, top: Int, full: Bool) {
        w.object { w in
            summaryFields(&w, s)
            guard full else { return }
            let k = min(top, m.depth)
            w.key("best"); w.array(0..<m.featureCount) { w, j in w.int(m.bestFeature(j)) }
            w.key("best_cosine"); w.array(0..<m.featureCount) { w, j in w.float(m.bestCosine(j)) }
            w.key("matches"); w.array(0..<m.featureCount) { w, j in w.array(0..<k) { w, r in w.int(Int(m.indices[j * m.depth + r])) } }
            w.key("cosines"); w.array(0..<m.featureCount) { w, j in w.array(0..<k) { w, r in w.float(m.cosines[j * m.depth + r]) } }
        }
    }

    private static func assignment(_ w: inout JSONWriter, _ a: FeatureAssignment, agreement: ActivationAgreement?, full: Bool) {
        w.object { w in
            w.key("method"); w.string(a.method.rawValue)
            w.key("description"); w.string(a.methodDescription)
            w.key("rounds"); w.int(a.rounds)
            w.key("pairs"); w.int(a.pairs.count)
            w.key("mean_cosine"); w.double(a.meanCosine)
            w.key("unmatched_a"); w.int(a.unmatchedA)
            w.key("unmatched_b"); w.int(a.unmatchedB)
            guard full else { return }
            w.key("a"); w.array(a.pairs) { w, p in w.int(p.a) }
            w.key("b"); w.array(a.pairs) { w, p in w.int(p.b) }
            w.key("cosine"); w.array(a.pairs) { w, p in w.float(p.cosine) }
            if let agreement {
                w.key("agreement"); w.array(agreement.perPair) { w, value in w.optionalDouble(value) }
            }
        }
    }

    private static func metrics(_ w: inout JSONWriter, _ m: DictionaryMetrics, core: CoreMetrics?) {
        w.object { w in
            for definition in MetricDefinition.all {
                w.key(definition.key); w.double(definition.value(m))
            }
            // SAEBench's core metrics: new keys after the old ones (null when not computed).
            if let core {
                for definition in CoreMetrics.definitions {
                    w.key(definition.key); w.double(definition.value(core))
                }
            }
            w.key("n_tokens"); w.int(m.tokenCount)
            w.key("n_skipped"); w.int(m.skippedCount)
        }
    }
}

/// A minimal streaming JSON writer with ordered keys.
struct JSONWriter {
    private(set) var text = ""
    private var needsComma = [false]

    private mutating func separate() {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
    }

    mutating func object(_ body: (inout JSONWriter) -> Void) {
        separate()
        text += "{"
        needsComma.append(false)
        body(&self)
        needsComma.removeLast()
        text += "}"
    }

    mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        separate()
        text += "["
        needsComma.append(false)
        for item in items { element(&self, item) }
        needsComma.removeLast()
        text += "]"
    }

    /// A key: the value written next belongs to it (no comma between them).
    mutating func key(_ name: String) {
        separate()
        text += JSONWriter.quoted(name) + ":"
        needsComma[needsComma.count - 1] = false
    }

    private mutating func value(_ literal: String) {
        separate()
        text += literal
    }

    mutating func int(_ n: Int) { value(String(n)) }
    mutating func double(_ x: Double) { value(x.isFinite ? "\(x)" : "null") }
    mutating func float(_ x: Float) { value(x.isFinite ? "\(x)" : "null") }
    mutating func string(_ s: String) { value(JSONWriter.quoted(s)) }
    mutating func optionalString(_ s: String?) { value(s.map(JSONWriter.quoted) ?? "null") }
    mutating func optionalDouble(_ x: Double?) { if let x { double(x) } else { value("null") } }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
