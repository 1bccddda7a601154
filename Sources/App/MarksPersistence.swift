import SAECore

/// Marks survive a relaunch: read from the dictionary's `MarksStore` when the browser opens,
/// written back whenever a key changes them (a small file, so at once rather than at quit: a
/// crash or a closed terminal loses nothing).
extension AppController {
    /// Takes the marks saved for this dictionary (ids it does not have are dropped).
    public func restoreMarks(from store: MarksStore) {
        marksStore = store
        do {
            let saved = try store.load().filter { $0 >= 0 && $0 < session.sae.featureCount }
            guard !saved.isEmpty else { return }
            model.marks = saved
            if model.list.filter.markedOnly { refreshRows() }
            setMessage("\(saved.count) marked feature\(saved.count == 1 ? "" : "s") from the last session (u clears)", isError: false)
        } catch {
            setMessage(String(describing: error), isError: true)
        }
    }

    func saveMarks() {
        guard let marksStore else { return }
        do {
            try marksStore.save(model.marks, dictionary: session.saePath)
        } catch {
            setMessage(String(describing: error), isError: true)
        }
    }
}
