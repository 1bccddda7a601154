import TUI

/// Where the last frame drew things the mouse and paging need.
struct FrameLayout {
    var listBody = Rect.zero
    var listRows = 20
    var exemplarRows = 10
    var exemplarLines = 0
    var neighbourRows: [Int] = []
    var neighbourColumn = Rect.zero
}
