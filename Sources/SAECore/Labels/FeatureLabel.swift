/// A researcher's verdict on a feature.
public enum LabelStatus: String, CaseIterable, Sendable, Codable {
    case unreviewed, interpretable, uninterpretable, dead

    /// The next status in the cycle a key steps through.
    public var next: LabelStatus {
        let all = Self.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }
}

/// An explanation of a feature written elsewhere (an auto-interpretation pipeline, another
/// researcher), kept beside the user's own label with where it came from.
public struct FeatureExplanation: Equatable, Hashable, Sendable {
    /// Where it was imported from: `neuronpedia`, `delphi`, or the source a saescope export named.
    public var source: String
    /// The model that wrote it (Neuronpedia's `explanationModelName`), "" when unknown.
    public var model: String
    public var text: String
    /// The pipeline's score for it, when it gave one.
    public var score: Double?

    public init(source: String, model: String = "", text: String, score: Double? = nil) {
        self.source = source
        self.model = model
        self.text = text
        self.score = score
    }
}

/// Everything kept about one feature of one dictionary: the user's label (one line), notes,
/// tags, status, who changed it last and when, and imported explanations.
public struct FeatureLabel: Equatable, Sendable {
    public var label = ""
    public var notes = ""
    /// Sorted, each once.
    public var tags: [String] = []
    public var status = LabelStatus.unreviewed
    public var author = ""
    /// Seconds since 1970 of the last edit; 0 when only imported explanations exist.
    public var updatedAt: Double = 0
    public var explanations: [FeatureExplanation] = []

    public init(label: String = "", notes: String = "", tags: [String] = [], status: LabelStatus = .unreviewed,
                author: String = "", updatedAt: Double = 0, explanations: [FeatureExplanation] = []) {
        self.label = label
        self.notes = notes
        self.tags = tags
        self.status = status
        self.author = author
        self.updatedAt = updatedAt
        self.explanations = explanations
    }

    /// What a one-line place shows: the label, else the first explanation (dim in the views).
    public var headline: String? {
        if !label.isEmpty { return label }
        return explanations.first?.text
    }

    /// Tags as the prompt and exports write them: `#name #other`.
    public var tagLine: String { tags.map { "#" + $0 }.joined(separator: " ") }

    public var isEmpty: Bool {
        label.isEmpty && notes.isEmpty && tags.isEmpty && status == .unreviewed && explanations.isEmpty
    }

    /// Tags from what a user typed: words split at spaces and commas, a leading `#` dropped,
    /// each once, sorted.
    public static func tags(from text: String) -> [String] {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" })
            .map { $0.hasPrefix("#") ? String($0.dropFirst()) : String($0) }
            .filter { !$0.isEmpty }
        return Array(Set(words)).sorted()
    }
}

/// The labels of one dictionary's features, as the interface holds them (features without a
/// record are absent), with the lowercased text `/` searches.
public struct LabelBook: Sendable {
    public private(set) var features: [Int: FeatureLabel] = [:]
    /// Per feature: label, notes, tags and explanations, lowercased UTF-8, one per line.
    public private(set) var searchText: [Int: [UInt8]] = [:]

    public init(_ features: [Int: FeatureLabel] = [:]) {
        for (j, record) in features { self[j] = record }
    }

    public subscript(_ j: Int) -> FeatureLabel? {
        get { features[j] }
        set {
            guard let newValue, !newValue.isEmpty else {
                features[j] = nil
                searchText[j] = nil
                return
            }
            features[j] = newValue
            let lines = [newValue.label, newValue.notes, newValue.tagLine] + newValue.explanations.map(\.text)
            searchText[j] = Array(lines.joined(separator: "\n").lowercased().utf8)
        }
    }

    public var isEmpty: Bool { features.isEmpty }

    /// Features given a status other than unreviewed.
    public var reviewedCount: Int { features.values.reduce(0) { $0 + ($1.status == .unreviewed ? 0 : 1) } }
    public var labelledCount: Int { features.values.reduce(0) { $0 + ($1.label.isEmpty ? 0 : 1) } }
}
