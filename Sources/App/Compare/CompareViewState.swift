import Widgets

/// Which side of the compare screen's split view the movement keys act on.
public enum CompareFocus: Sendable, Equatable {
    /// The list of A's features.
    case a
    /// The selected A feature's matches in B.
    case b
}

/// Where the compare screen's cursors are.
public struct CompareViewState: Equatable, Sendable {
    public var order: CompareOrder = .best
    /// A's features in `order`.
    public var rows: [Int] = []
    /// Cursor in `rows`.
    public var list = TableState()
    /// Cursor in the selected A feature's match rows.
    public var matches = TableState()
    public var focus: CompareFocus = .a
    /// B's feature shown at full size (Enter on a match), with its exemplar cursor (counted over
    /// the pane's exemplars, Enter opens its sequence) and scroll.
    public var zoomed: Int?
    public var zoomExemplar = 0
    public var zoomScroll = 0
    /// Sizes the last frame drew, for paging and scroll limits.
    var listPage = 10
    var matchPage = 5
    var zoomPage = 10

    public init() {}

    /// The A feature under the cursor.
    public var selectedA: Int? {
        rows.isEmpty ? nil : rows[min(max(list.selected, 0), rows.count - 1)]
    }
}
