import SAECore
import TUI
import Widgets

/// The screens of the browser. Help is an overlay over any of them.
public enum Screen: String, CaseIterable, Sendable {
    case features, detail, overview, jobs, probes, compare
    /// An exemplar's whole sequence from the cache (a drill-down from the detail screen).
    case sequence
    /// Typed text run through the attached model: which features fire on which token.
    case text
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
    /// While the `/` prompt is open: what Esc goes back to.
    public var searchInProgress: SearchInProgress?
}

/// A `/` search being typed: it updates the list on every key; Esc restores the cursor and the
/// search from before, Enter keeps it.
public struct SearchInProgress: Equatable, Sendable {
    public var selected: Int
    public var query: String?
}

/// The detail screen's state.
public struct DetailState: Equatable, Sendable {
    public var feature = 0
    /// First line of the exemplar pane shown.
    public var scroll = 0
    /// The exemplar under the cursor (j/k), counted over the pane's exemplars in order: Enter
    /// opens its whole sequence.
    public var exemplar = 0
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
    /// Where the drill-downs on screen came from (empty on a tab): `q` and Esc go back there.
    public var previousScreens: [Screen] = []
    public var index: FeatureIndex?
    /// Set while the index shown is a merge of some shards of a running build.
    public var partial: (done: Int, of: Int)?
    public var indexJob: JobCenter.ID?
    /// The file the index on screen was read from or saved to (nil while a first build runs).
    public var indexPath: String?
    /// The complete index shown before the running re-index: cancelling or a failure puts it back.
    public var indexBeforeRebuild: (index: FeatureIndex, path: String?)?
    public var indexOptions = FeatureIndexOptions()
    public var list = FeatureListState()
    public var detail = DetailState()
    /// The sequence drill-downs open, innermost last (a feature opened from one can open another).
    public var sequences: [SequenceState] = []
    /// The text screen: its field, history, last scored text (kept while other screens are shown).
    public var text = TextScreenState()
    public var marks: Set<Int> = []
    /// This dictionary's labels, notes, tags, status and explanations (LabelsPersistence.swift),
    /// the compared dictionary's, and why they cannot be written (nil: they can).
    public var labels = LabelBook()
    public var comparedLabels = LabelBook()
    public var labelsReadOnly: String?
    /// The notes editor pane, while open (E).
    public var notesEditor: NotesEditor?
    public var prompt: Prompt?
    /// Lines submitted at each kind of prompt, oldest first (Up and Down recall them).
    public var promptHistory: [Prompt.HistoryKey: [String]] = [:]
    /// Where the last export went: the export prompt offers the same folder next time.
    public var lastExportDirectory: String?
    public var message: StatusMessage?
    public var showHelp = false
    public var helpScroll = 0
    public var jobs: [JobCenter.Status] = []
    public var jobsTable = TableState()
    public var overviewSelection = 0
    public var overview = OverviewState()
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
    /// The language model attached for CE loss (open --model), and each dictionary's CE numbers.
    public var modelAttachment: ModelAttachmentState = .none(missingEnvironment: false)
    public var modelLoss: [ModelLossSide: ModelLossStatus] = [:]
    /// Which side each running CE job is for.
    public var modelLossJobs: [JobCenter.ID: ModelLossSide] = [:]
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
