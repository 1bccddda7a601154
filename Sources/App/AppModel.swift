import SAECore
import TUI
import Widgets

/// The screens of the browser. Help is an overlay over any of them.
public enum Screen: String, CaseIterable, Sendable {
    case features, detail, overview, jobs, probes, compare
}

/// A one-line input at the bottom: `:` commands, `/` search, and the export prompt.
public struct Prompt: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case command, search, export }
    public var kind: Kind
    public var text: String

    public var leader: String {
        switch kind {
        case .command: return ":"
        case .search: return "/"
        case .export: return "export (json|jsonl|csv|md|safetensors) PATH: "
        }
    }
}

/// The feature list's state: which features, in what order, where the cursor is.
public struct FeatureListState: Equatable, Sendable {
    public var rows: [Int] = []
    public var sort: FeatureSortKey = .id
    public var ascending = true
    public var filter = FeatureFilter()
    public var table = TableState()
    /// The search (the one being typed, while the `/` prompt is open) and the list positions it
    /// hits, for n / N.
    public var searchQuery: String?
    public var searchHits: [Int] = []
    /// Earlier searches, oldest first (Up / Down in the `/` prompt).
    public var searchHistory: [String] = []
    /// While the `/` prompt is open: what Esc goes back to, and the history entry shown.
    public var searchInProgress: SearchInProgress?
}

/// A `/` search being typed: it updates the list on every key; Esc restores the cursor and the
/// search from before, Enter keeps it.
public struct SearchInProgress: Equatable, Sendable {
    public var selected: Int
    public var query: String?
    /// The history entry in the prompt (nil: the text being typed, kept in `draft`).
    public var historyPosition: Int?
    public var draft = ""
}

/// The detail screen's state.
public struct DetailState: Equatable, Sendable {
    public var feature = 0
    /// First line of the exemplar pane shown.
    public var scroll = 0
    /// Features visited with neighbour keys, for going back.
    public var history: [Int] = []
}

/// A status-line message.
public struct StatusMessage: Equatable, Sendable {
    public var text: String
    public var isError: Bool

    public init(text: String, isError: Bool) {
        self.text = text
        self.isError = isError
    }
}

/// Everything the screens draw, owned by the UI thread; changed only by `AppController`.
public struct AppModel {
    public var screen: Screen = .features
    public var previousScreens: [Screen] = []
    public var index: FeatureIndex?
    /// Set while the index shown is a merge of some shards of a running build.
    public var partial: (done: Int, of: Int)?
    public var indexJob: JobCenter.ID?
    public var indexOptions = FeatureIndexOptions()
    public var list = FeatureListState()
    public var detail = DetailState()
    public var marks: Set<Int> = []
    public var prompt: Prompt?
    public var message: StatusMessage?
    public var showHelp = false
    public var helpScroll = 0
    public var jobs: [JobCenter.Status] = []
    public var jobsTable = TableState()
    public var overviewSelection = 0
    public var probes = ProbesState()
    /// A second dictionary being compared with this one (`open --sae2`), if any.
    public var comparison: ComparisonState?
    public var showDefinitions = true
    /// Whether rankings by cosine (decoder neighbours, probe-aligned features, compare's orders)
    /// list dead features (density 0 in the index); off by default (key D).
    public var includeDeadInRankings = false
    public var themeName: String
    /// Logit effects computed so far (features the detail screen showed), and the one being computed.
    public var logits: [Int: FeatureLogitEffects] = [:]
    public var logitsPending: Int?
    public var quit = false

    public init(themeName: String) {
        self.themeName = themeName
    }

    /// The feature under the cursor of the list, if any.
    public var selectedFeature: Int? {
        let rows = list.rows
        guard !rows.isEmpty else { return nil }
        return rows[min(max(list.table.selected, 0), rows.count - 1)]
    }
}
