import Foundation
import SAECore
import TUI
import Widgets

/// The one owner of the model: turns keys, mouse events and job reports into model changes
/// (`handle`), starts and cancels background jobs, and draws the current screen (`render`).
/// Lives on the UI thread; jobs reach it only through the `JobCenter` mailbox.
public final class AppController {
    public internal(set) var model: AppModel
    public let session: DictionarySession
    public let jobs: JobCenter
    public private(set) var theme: Theme
    /// Themes `t` cycles through, in order (built-ins, plus a user theme given by file).
    private let themes: [Theme]
    /// The settings of the index opened at launch: its file is `session.indexPath`; an index
    /// for other settings is a variant beside it (`indexFile(for:)`).
    let launchIndexOptions: FeatureIndexOptions
    /// Shards the first index build is split into, so screens fill in early.
    let progressiveSteps: Int
    /// Where the last frame put things, for mouse hits and paging.
    var layout = FrameLayout()
    /// The last feature's nine decoder neighbours: one sgemv over W_dec (F x D) is milliseconds
    /// for a large dictionary, too slow to redo every frame.
    /// Keyed by what decides which features are dead too (the toggle, the index's token count).
    private var neighbourCache: (feature: Int, includeDead: Bool, tokens: Int?, neighbours: [DecoderNeighbours.Neighbour])?
    /// Where this dictionary's labels and marks are kept across launches (nil: not kept; tests,
    /// unreadable weights, a database that could not be opened).
    public var labelStore: LabelStore?
    /// What to do on the UI thread with each job's partial and final results (see `startJob`).
    private var resultHandlers: [JobCenter.ID: (partial: ((Any) -> Void)?, done: (Any) -> Void)] = [:]
    /// What `/` matches, decoded per feature on first use (see `ExemplarSearchText`).
    let searchText = ExemplarSearchText()
    /// The language model attached for CE loss (`attachModel`), if any.
    var attachedModel: AttachedModel?
    /// The clock the text screen times its scans with (tests fix it, so frames do not vary).
    public var uptimeNanoseconds: () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }

    /// - Parameters:
    ///   - indexState: the session's index, or why one must be built (then a build starts now).
    public init(session: DictionarySession, indexState: DictionarySession.IndexState, jobs: JobCenter,
                theme: Theme = .dark, extraThemes: [Theme] = [], options: FeatureIndexOptions = FeatureIndexOptions(),
                progressiveSteps: Int? = nil) {
        self.session = session
        self.jobs = jobs
        self.theme = theme
        var all = [Theme.dark, Theme.light, Theme.highContrast]
        for extra in extraThemes + [theme] where !all.contains(where: { $0.name == extra.name }) { all.append(extra) }
        themes = all
        self.progressiveSteps = progressiveSteps ?? ProgressiveIndexer.suggestedSteps(tokens: session.cache?.rowCount ?? 0, featureCount: session.sae.featureCount)
        model = AppModel(themeName: theme.name)
        model.indexOptions = options
        switch indexState {
        case .loaded(let index):
            launchIndexOptions = index.options
            model.indexOptions = index.options
            model.indexPath = session.indexPath
            install(index: index, partial: nil)
        case .needsBuild(let reason):
            launchIndexOptions = options
            startIndexing(options: options, reason: reason)
        }
    }

    // MARK: Input

    /// The keys of one read from the terminal, in order. A paste arrives as one burst: an Enter
    /// with more keys after it in the burst is a line break of the pasted text (the text
    /// screen's field keeps it), not a send.
    public func handle(_ keys: [Key]) {
        for (i, key) in keys.enumerated() { handle(key, moreFollow: i < keys.count - 1) }
    }

    /// One key (or mouse event, or resize) from the terminal; `moreFollow`: more keys came in
    /// the same read (see `handle(_ keys:)`).
    public func handle(_ key: Key, moreFollow: Bool = false) {
        if case .resize = key { return }  // layout is redone every frame
        let marksBefore = model.marks
        defer { if model.marks != marksBefore { saveMarks(from: marksBefore) } }
        if case .mouse(let event) = key { handleMouse(event); return }
        if model.notesEditor != nil { editNotes(key); return }
        if let prompt = model.prompt {
            editPrompt(key)
            if prompt.kind == .search { searchPromptEdited() }
            return
        }
        if model.screen == .text, model.text.focus == .field, !model.showHelp { editTextField(key, moreFollow: moreFollow); return }
        if model.showHelp {
            switch key {
            case .down, .char("j"): model.helpScroll += 1
            case .up, .char("k"): model.helpScroll = max(0, model.helpScroll - 1)
            case .pageDown, .char(" "): model.helpScroll += 10
            case .pageUp: model.helpScroll = max(0, model.helpScroll - 10)
            case .char("G"), .end: model.helpScroll = Int.max / 2
            case .ctrl("c"): model.showHelp = false; requestQuit()
            default: model.showHelp = false
            }
            return
        }
        model.message = nil
        guard let command = Keymaps.command(for: key, on: model.screen) else {
            if case .char(let c) = key { model.message = StatusMessage(text: "\(c): no such key here (? for help)", isError: false) }
            return
        }
        perform(command)
    }

    /// Job reports since the last call: progress, partial and final indexes, failures.
    public func handleJobEvents() {
        for event in jobs.drain() {
            switch event {
            case .progress:
                break
            case .partial(let id, let value):
                if let handler = resultHandlers[id]?.partial { handler(value) }
                if id == model.indexJob, let update = value as? PartialIndex {
                    install(index: update.index, partial: (update.done, update.of))
                    model.indexPath = nil
                }
            case .finished(let id, let value):
                if let handler = resultHandlers.removeValue(forKey: id) {
                    handler.done(value)
                } else if id == model.indexJob, let result = value as? BuiltIndex {
                    indexBuilt(result)
                } else if let text = value as? String {
                    model.message = StatusMessage(text: text, isError: false)
                }
            case .failed(let id, let text):
                resultHandlers[id] = nil
                model.message = StatusMessage(text: text, isError: true)
                if id == model.indexJob { indexBuildEnded(failure: text) }
                if id == model.comparison?.indexJob { comparedIndexBuildEnded() }
                modelJobEnded(id, failure: text)
                textJobEnded(id, failure: text)
            case .cancelled(let id):
                resultHandlers[id] = nil
                if id == model.indexJob { indexBuildEnded(failure: nil) }
                if id == model.comparison?.indexJob { comparedIndexBuildEnded() }
                modelJobEnded(id, failure: nil)
                textJobEnded(id, failure: nil)
            }
        }
        model.jobs = jobs.snapshot
    }

    // MARK: Commands

    func perform(_ command: Command) {
        switch command {
        case .quit: requestQuit()
        case .back: goBack(quitOnTab: false)
        case .backOrQuit: goBack(quitOnTab: true)
        case .help: model.showHelp = true; model.helpScroll = 0
        case .commandLine: model.prompt = Prompt(kind: .command, text: "")
        case .cycleTheme:
            let i = themes.firstIndex { $0.name == theme.name } ?? 0
            setTheme(themes[(i + 1) % themes.count])
        case .showOverview: show(.overview)
        case .showJobs: show(.jobs)
        case .showFeatures: show(.features)
        case .up, .down, .pageUp, .pageDown, .top, .bottom: move(command)
        case .open:
            if let j = model.selectedFeature { openFeature(j) }
        case .toggleMark:
            let j = model.screen == .detail ? model.detail.feature : model.selectedFeature
            if let j {
                if model.marks.contains(j) { model.marks.remove(j) } else { model.marks.insert(j) }
                if model.screen == .features { move(.down) }
                // The marked-only list follows marks made anywhere (the detail screen too).
                if model.list.filter.markedOnly { refreshRows() }
            }
        case .markSearchHits:
            let hits = model.list.searchHits.map { model.list.rows[$0] }
            model.marks.formUnion(hits)
            model.message = StatusMessage(text: hits.isEmpty ? "no search hits to mark (/ searches)"
                                          : "marked \(hits.count) search hits (\(model.marks.count) in all)", isError: false)
        case .markAllListed:
            model.marks.formUnion(model.list.rows)
            model.message = StatusMessage(text: "marked \(model.list.rows.count) listed features (\(model.marks.count) in all)", isError: false)
        case .clearMarks:
            model.marks.removeAll()
            if model.list.filter.markedOnly { refreshRows() }
        case .export:
            guard !model.marks.isEmpty else {
                model.message = StatusMessage(text: "mark features with Space first (or a to mark every listed one)", isError: true)
                return
            }
            openExportPrompt()
        case .nextSort:
            let all = FeatureSortKey.allCases
            let next = all[(all.firstIndex(of: model.list.sort)! + 1) % all.count]
            setSort(next, ascending: next.defaultAscending)
        case .reverseSort: setSort(model.list.sort, ascending: !model.list.ascending)
        case .cycleFilter:
            let all = FeatureFilter.Liveness.allCases
            model.list.filter.liveness = all[(all.firstIndex(of: model.list.filter.liveness)! + 1) % all.count]
            refreshRows()
        case .toggleMarkedOnly:
            model.list.filter.markedOnly.toggle()
            refreshRows()
        case .search: beginSearch()
        case .nextHit: jumpToHit(forward: true)
        case .previousHit: jumpToHit(forward: false)
        case .previousFeature, .nextFeature: stepFeature(command == .nextFeature ? 1 : -1)
        case .neighbour(let n):
            let neighbours = nearestNeighbours(of: model.detail.feature)
            guard n >= 1, n <= neighbours.count else { return }
            model.detail.history.append(model.detail.feature)
            showFeature(neighbours[n - 1].feature)
        case .historyBack:
            if let previous = model.detail.history.popLast() { showFeature(previous) } else { goBack(quitOnTab: false) }
        case .reindex:
            let o = model.indexOptions
            model.prompt = Prompt(kind: .command, text: "reindex top-k=\(o.topK) context=\(o.context) min-act=\(o.minActivation)"
                                  + (o.firstToken.map { " first-token=\($0)" } ?? "") + (o.maxTokens.map { " max-tokens=\($0)" } ?? "")
                                  + (o.excludesSpecial ? " exclude-special=on" : ""))
        case .toggleDeadInRankings: toggleDeadInRankings()
        case .cancelJob: cancelSelectedJob()
        case .probes(let command): performProbes(command)
        case .overview(let command): performOverview(command)
        case .compare(let action): performCompare(action)
        case .sequence(let command): performSequence(command)
        case .text(let command): performText(command)
        case .label(let command): performLabel(command)
        }
    }


    func showFeature(_ j: Int) {
        requestLogitEffects(for: j)
        model.detail.feature = j
        model.detail.scroll = 0
        model.detail.exemplar = 0
        if let position = model.list.rows.firstIndex(of: j) { model.list.table.selected = position }
    }

    private func stepFeature(_ delta: Int) {
        let rows = model.list.rows
        guard !rows.isEmpty else { return }
        let position = rows.firstIndex(of: model.detail.feature) ?? model.list.table.selected
        showFeature(rows[min(max(position + delta, 0), rows.count - 1)])
    }

    private func move(_ command: Command) {
        switch model.screen {
        case .features: moveTable(&model.list.table, command, rowCount: model.list.rows.count, page: layout.listRows)
        case .jobs: moveTable(&model.jobsTable, command, rowCount: model.jobs.count, page: layout.listRows)
        case .probes: moveProbes(command)
        case .compare: moveCompare(command)
        case .overview: moveOverview(command)
        case .detail: moveExemplarCursor(command)
        case .sequence: moveSequenceFeatures(command)
        case .text: moveTextLists(command)
        }
    }

    func moveTable(_ state: inout TableState, _ command: Command, rowCount: Int, page: Int) {
        switch command {
        case .up: state.move(by: -1, rowCount: rowCount)
        case .down: state.move(by: 1, rowCount: rowCount)
        case .pageUp: state.page(-1, visibleRows: max(1, page), rowCount: rowCount)
        case .pageDown: state.page(1, visibleRows: max(1, page), rowCount: rowCount)
        case .top: state.moveToStart()
        case .bottom: state.moveToEnd(rowCount: rowCount)
        default: break
        }
    }

    func setTheme(_ next: Theme) {
        theme = next
        model.themeName = next.name
        model.message = StatusMessage(text: "theme: \(next.name)", isError: false)
    }

    private func setSort(_ key: FeatureSortKey, ascending: Bool) {
        model.list.sort = key
        model.list.ascending = ascending
        refreshRows()
    }

    // MARK: Index

    /// Shows `index` (partial or whole) and rebuilds the list, keeping the cursor on its feature.
    func install(index: FeatureIndex, partial: (done: Int, of: Int)?) {
        model.index = index
        model.partial = partial
        refreshRows()
        // Which features are dead changed: the compare screen's rankings leave them out.
        if let order = model.comparison?.view.order, model.comparison?.result != nil { setCompareOrder(order) }
    }

    /// Changes the list's settings, then rebuilds its rows.
    func updateList(_ change: (inout FeatureListState) -> Void) {
        change(&model.list)
        refreshRows()
    }

    func refreshRows() {
        guard let index = model.index else { model.list.rows = []; return }
        let keep = model.selectedFeature
        model.list.rows = FeatureListBuilder.rows(index: index, session: session, filter: model.list.filter, marks: model.marks, labels: model.labels,
                                                  sort: model.list.sort, ascending: model.list.ascending)
        if let keep, let position = model.list.rows.firstIndex(of: keep) {
            model.list.table.selected = position
        } else {
            model.list.table.selected = min(model.list.table.selected, max(0, model.list.rows.count - 1))
        }
        if let query = model.list.searchQuery {
            model.list.searchHits = searchHits(query, in: model.list.rows, index: index)
        }
    }

    /// The nine nearest features to `j` by decoder cosine, cached for the feature on screen;
    /// without dead features unless `D` brought them back.
    func nearestNeighbours(of j: Int) -> [DecoderNeighbours.Neighbour] {
        let includeDead = model.includeDeadInRankings, tokens = model.index?.tokenCount
        if let cache = neighbourCache, cache.feature == j, cache.includeDead == includeDead, cache.tokens == tokens { return cache.neighbours }
        let index = includeDead ? nil : model.index
        let neighbours = session.neighbours.nearest(to: j, count: 9) { index?.isDead($0) ?? false }
        neighbourCache = (j, includeDead, tokens, neighbours)
        return neighbours
    }

    /// Features of the index with density 0, which rankings leave out unless `D` brought them back.
    func deadFeatures() -> Set<Int> {
        guard !model.includeDeadInRankings, let index = model.index else { return [] }
        return Set((0..<index.featureCount).filter { index.isDead($0) })
    }

    /// How many features a ranking over the whole dictionary ranks: for its chance level.
    func rankedFeatureCount() -> Int {
        session.sae.featureCount - deadFeatureCount()
    }

    private func deadFeatureCount() -> Int {
        guard !model.includeDeadInRankings, let index = model.index else { return 0 }
        return (0..<index.featureCount).reduce(0) { $0 + (index.isDead($1) ? 1 : 0) }
    }

    /// `D`: dead features back into the rankings, or out again.
    private func toggleDeadInRankings() {
        model.includeDeadInRankings.toggle()
        model.probes.includeDead = model.includeDeadInRankings
        if let order = model.comparison?.view.order { setCompareOrder(order) }
        if model.screen == .probes { ensureProbeJobs() }
        let dead = model.index.map { index in (0..<index.featureCount).filter { index.isDead($0) }.count } ?? 0
        setMessage(model.includeDeadInRankings ? "rankings include the \(dead) dead features (D leaves them out)"
                   : "rankings leave out the \(dead) dead features (D brings them back)", isError: false)
    }

    /// Runs `work` as a background job (superseding a running job of the same kind); `done`
    /// (and `partial`, for `context.partial` values) run later on the UI thread with its results,
    /// from `handleJobEvents`. Failures and cancels show in the status line and the jobs screen.
    @discardableResult
    public func startJob(kind: String, title: String, work: @escaping @Sendable (JobCenter.Context) throws -> Any,
                         partial: ((Any) -> Void)? = nil, done: @escaping (Any) -> Void) -> JobCenter.ID {
        let id = jobs.start(kind: kind, title: title, work: work)
        resultHandlers[id] = (partial, done)
        model.jobs = jobs.snapshot
        return id
    }
}
