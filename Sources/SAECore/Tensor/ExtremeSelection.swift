/// The k largest (or k smallest) values of a stream of `(index, value)` pairs, in O(k) memory:
/// a bounded binary heap whose root is the worst kept entry. Ties go to the lower index, NaN is
/// never kept. `sorted()` returns the kept entries best first.
struct ExtremeSelection {
    let capacity: Int
    let largest: Bool
    private(set) var heap: [(index: Int, value: Float)] = []

    init(capacity: Int, largest: Bool) {
        self.capacity = max(0, capacity)
        self.largest = largest
        heap.reserveCapacity(self.capacity)
    }

    /// Whether `a` ranks strictly before `b` (better value, or equal value and lower index).
    @inline(__always) private func better(_ a: (index: Int, value: Float), _ b: (index: Int, value: Float)) -> Bool {
        if a.value != b.value { return largest ? a.value > b.value : a.value < b.value }
        return a.index < b.index
    }

    /// The value an entry must beat to be kept once the selection is full (nil while not full).
    var threshold: Float? { heap.count == capacity ? heap.first?.value : nil }

    mutating func offer(_ index: Int, _ value: Float) {
        guard capacity > 0, !value.isNaN else { return }
        let entry = (index: index, value: value)
        if heap.count < capacity {
            heap.append(entry)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard better(heap[parent], heap[child]) else { break }  // root = worst
                heap.swapAt(parent, child)
                child = parent
            }
        } else if better(entry, heap[0]) {
            heap[0] = entry
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var worst = parent
                if left < heap.count, better(heap[worst], heap[left]) { worst = left }
                if right < heap.count, better(heap[worst], heap[right]) { worst = right }
                guard worst != parent else { break }
                heap.swapAt(parent, worst)
                parent = worst
            }
        }
    }

    /// Offers `count` contiguous values whose first has index `base`.
    mutating func offer(_ values: UnsafeBufferPointer<Float>, base: Int) {
        for (offset, value) in values.enumerated() {
            if let threshold, largest ? value < threshold : value > threshold { continue }  // fast path
            offer(base + offset, value)
        }
    }

    /// Kept entries, best first.
    func sorted() -> [(index: Int, value: Float)] { heap.sorted(by: better) }
}
