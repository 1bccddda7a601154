import SAECore

/// The labels database behind the interface: opened at launch (taking over the marks files
/// saescope kept before it), read once into `model.labels` and `model.marks`, written one edit
/// at a time. A database that cannot be opened or written leaves the interface running
/// read-only, the reason in the status line and `model.labelsReadOnly`.
extension AppController {
    /// Opens the labels of this dictionary from `open` (a store, or the error opening it),
    /// migrating `marksFile` into it when it exists. The marks are read at once; the labels by a
    /// background job (thousands of records would delay the first frame), merged under any edit
    /// made before it ends.
    public func attachLabels(_ open: () throws -> LabelStore, marksFile: MarksStore?) {
        var notices: [String] = []
        do {
            let store = try open()
            labelStore = store
            if let marksFile, let moved = try store.migrateMarksFile(marksFile) {
                notices.append("moved \(moved) marks from \(marksFile.path) into \(store.path)")
            }
            let saved = try store.marks().filter { $0 >= 0 && $0 < session.sae.featureCount }
            if !saved.isEmpty {
                model.marks = saved
                if model.list.filter.markedOnly { refreshRows() }
                notices.append("\(saved.count) marked feature\(saved.count == 1 ? "" : "s") from the last session (u clears)")
            }
            loadLabels(of: store) { [weak self] book in
                guard let self else { return }
                var merged = book
                for (j, record) in model.labels.features { merged[j] = record }
                model.labels = merged
                refreshRows()
            }
        } catch {
            labelsBecameReadOnly(String(describing: error))
            return
        }
        if !notices.isEmpty { setMessage(notices.joined(separator: "; "), isError: false) }
    }

    /// The second dictionary's labels, for the compare screen's B side (read only here).
    public func attachComparedLabels(_ open: () throws -> LabelStore) {
        do {
            loadLabels(of: try open()) { [weak self] in self?.model.comparedLabels = $0 }
        } catch {
            setMessage(String(describing: error), isError: true)
        }
    }

    /// Reads every record of `store`'s dictionary on a worker (its own connection: one per thread).
    private func loadLabels(of store: LabelStore, done: @escaping (LabelBook) -> Void) {
        let (path, fingerprint) = (store.path, store.fingerprint)
        startJob(kind: "labels", title: "read the labels of \(fingerprint)", work: { _ in
            try LabelStore(path: path, fingerprint: fingerprint).load()
        }, done: { value in
            if let book = value as? LabelBook { done(book) }
        })
    }

    func labelsBecameReadOnly(_ reason: String) {
        model.labelsReadOnly = reason
        setMessage("labels are read-only: \(reason)", isError: true)
    }

    /// Writes the marks that changed since `before` (only those: another instance's stay).
    func saveMarks(from before: Set<Int>) {
        guard let labelStore, model.labelsReadOnly == nil else { return }
        do {
            try labelStore.updateMarks(adding: model.marks.subtracting(before), removing: before.subtracting(model.marks))
        } catch {
            labelsBecameReadOnly(String(describing: error))
        }
    }

    /// Applies one edit to feature `j` in the database, then shows the record as stored.
    func saveLabelEdit(_ edit: LabelStore.Edit, feature j: Int) {
        if let reason = model.labelsReadOnly {
            setMessage("labels are read-only: \(reason)", isError: true)
            return
        }
        guard let labelStore else {
            setMessage("labels are not kept for this dictionary (its weights could not be read)", isError: true)
            return
        }
        do {
            model.labels[j] = try labelStore.apply(edit, to: j)
            if model.list.filter.status != nil || model.list.filter.tag != nil || model.list.searchQuery != nil { refreshRows() }
        } catch {
            labelsBecameReadOnly(String(describing: error))
        }
    }
}
