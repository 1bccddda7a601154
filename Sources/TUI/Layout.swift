/// A cell position: column `x`, row `y`, origin top-left.
public struct Point: Hashable, Sendable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public init(x: Int, y: Int) {
        self.x = x
        self.y = y
    }
    public var description: String { "(\(x),\(y))" }
}

/// A rectangle of cells. Width and height are never negative.
public struct Rect: Hashable, Sendable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public init(width: Int, height: Int) {
        self.init(x: 0, y: 0, width: width, height: height)
    }

    public static let zero = Rect(x: 0, y: 0, width: 0, height: 0)

    public var minX: Int { x }
    public var minY: Int { y }
    /// One past the last column.
    public var maxX: Int { x + width }
    /// One past the last row.
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width == 0 || height == 0 }
    public var area: Int { width * height }
    public var description: String { "\(width)x\(height)@\(x),\(y)" }

    public func contains(_ p: Point) -> Bool {
        p.x >= minX && p.x < maxX && p.y >= minY && p.y < maxY
    }

    public func contains(x px: Int, y py: Int) -> Bool { contains(Point(x: px, y: py)) }

    /// The overlap of two rectangles (empty, at the clamped origin, when they do not overlap).
    public func intersection(_ other: Rect) -> Rect {
        let x0 = max(minX, other.minX)
        let y0 = max(minY, other.minY)
        let x1 = min(maxX, other.maxX)
        let y1 = min(maxY, other.maxY)
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// Shrinks by `n` cells on every side.
    public func inset(by n: Int) -> Rect { inset(top: n, left: n, bottom: n, right: n) }

    /// Shrinks by `horizontal` columns left and right and `vertical` rows top and bottom.
    public func inset(horizontal: Int = 0, vertical: Int = 0) -> Rect {
        inset(top: vertical, left: horizontal, bottom: vertical, right: horizontal)
    }

    public func inset(top: Int = 0, left: Int = 0, bottom: Int = 0, right: Int = 0) -> Rect {
        let w = max(0, width - left - right)
        let h = max(0, height - top - bottom)
        return Rect(x: x + min(left, width), y: y + min(top, height), width: w, height: h)
    }

    /// The single row `i` (0-based from the top); empty when outside.
    public func row(_ i: Int) -> Rect {
        guard i >= 0, i < height else { return Rect(x: x, y: y + max(0, min(i, height)), width: width, height: 0) }
        return Rect(x: x, y: y + i, width: width, height: 1)
    }

    /// Top `n` rows, and the rest below.
    public func splitTop(_ n: Int) -> (top: Rect, rest: Rect) {
        let parts = rows([.fixed(n), .rest()])
        return (parts[0], parts[1])
    }

    /// Bottom `n` rows, and the rest above.
    public func splitBottom(_ n: Int) -> (rest: Rect, bottom: Rect) {
        let k = min(max(0, n), height)
        return (Rect(x: x, y: y, width: width, height: height - k), Rect(x: x, y: maxY - k, width: width, height: k))
    }

    /// Left `n` columns, and the rest to the right.
    public func splitLeft(_ n: Int) -> (left: Rect, rest: Rect) {
        let parts = columns([.fixed(n), .rest()])
        return (parts[0], parts[1])
    }

    /// Right `n` columns, and the rest to the left.
    public func splitRight(_ n: Int) -> (rest: Rect, right: Rect) {
        let k = min(max(0, n), width)
        return (Rect(x: x, y: y, width: width - k, height: height), Rect(x: maxX - k, y: y, width: k, height: height))
    }

    /// Side-by-side parts (splits the width). See `Layout.split`.
    public func columns(_ sizes: [LayoutSize], gap: Int = 0) -> [Rect] {
        Layout.split(width, sizes, gap: gap).map { Rect(x: x + $0.offset, y: y, width: $0.length, height: height) }
    }

    /// Stacked parts (splits the height). See `Layout.split`.
    public func rows(_ sizes: [LayoutSize], gap: Int = 0) -> [Rect] {
        Layout.split(height, sizes, gap: gap).map { Rect(x: x, y: y + $0.offset, width: width, height: $0.length) }
    }

    /// A rectangle of at most `w` x `h` centred in this one.
    public func centered(width w: Int, height h: Int) -> Rect {
        let cw = min(w, width)
        let ch = min(h, height)
        return Rect(x: x + (width - cw) / 2, y: y + (height - ch) / 2, width: cw, height: ch)
    }

    /// Whether at least `minimum` fits.
    public func fits(_ minimum: MinimumSize) -> Bool {
        width >= minimum.width && height >= minimum.height
    }
}

/// A size request along one axis.
public enum LayoutSize: Hashable, Sendable {
    /// Exactly `n` cells (less when the space runs out).
    case fixed(Int)
    /// A fraction of the whole length (before gaps), rounded down.
    case fraction(Double)
    /// A share of what the fixed and fractional parts leave, by weight; the last `rest` part
    /// absorbs rounding, so the parts always tile the space.
    case rest(weight: Int = 1)
    /// Like `rest`, but never below `min` cells (taken before the other rest parts share).
    case atLeast(Int)
}

/// The smallest terminal a screen can draw in; below it the app shows one "enlarge" notice.
public struct MinimumSize: Hashable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
    public var description: String { "\(width)x\(height)" }
}

public enum Layout {
    /// Splits `length` cells into parts. Fixed and fractional parts are allocated first in
    /// order (each clipped to what is left), then the `rest`/`atLeast` parts share the remainder
    /// by weight. `gap` cells separate neighbouring parts. Offsets are relative to 0.
    public static func split(_ length: Int, _ sizes: [LayoutSize], gap: Int = 0) -> [(offset: Int, length: Int)] {
        guard !sizes.isEmpty else { return [] }
        let total = max(0, length)
        let gaps = max(0, gap) * (sizes.count - 1)
        var remaining = max(0, total - gaps)
        var lengths = [Int](repeating: 0, count: sizes.count)
        for (i, s) in sizes.enumerated() {
            switch s {
            case .fixed(let n):
                lengths[i] = min(max(0, n), remaining)
            case .fraction(let f):
                let want = Int((Double(total) * max(0, min(1, f))).rounded(.down))
                lengths[i] = min(want, remaining)
            case .atLeast(let n):
                lengths[i] = min(max(0, n), remaining)
            case .rest:
                continue
            }
            remaining -= lengths[i]
        }
        // Share the remainder among rest/atLeast parts by weight.
        var weights = [Int](repeating: 0, count: sizes.count)
        for (i, s) in sizes.enumerated() {
            switch s {
            case .rest(let w): weights[i] = max(0, w)
            case .atLeast: weights[i] = 1
            default: break
            }
        }
        let wsum = weights.reduce(0, +)
        if wsum > 0, remaining > 0 {
            var given = 0
            let lastIndex = weights.lastIndex(where: { $0 > 0 })!
            for i in weights.indices where weights[i] > 0 {
                let share = i == lastIndex ? remaining - given : remaining * weights[i] / wsum
                lengths[i] += share
                given += share
            }
        }
        var out: [(offset: Int, length: Int)] = []
        var pos = 0
        for (i, l) in lengths.enumerated() {
            out.append((min(pos, total), l))
            pos += l
            if i < lengths.count - 1 { pos += max(0, gap) }
        }
        return out
    }
}
