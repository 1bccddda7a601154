import Foundation

/// One flat per-feature table: contiguous elements that are either owned or a read-only view
/// into a memory-mapped index file. It is copy-on-write, and a mapped column is copied on its
/// first mutation, so opening an index reads only what is looked at (the exemplar tables are
/// most of the file).
public struct TableColumn<Element: BitwiseCopyable & Sendable>: @unchecked Sendable {
    // @unchecked: the storage is only written through a uniquely referenced, owned instance.
    private var storage: ColumnStorage
    public let count: Int

    /// `count` copies of `value`. A large column is filled by all the cores: its first touch
    /// (page faults, the kernel zeroing each page) is most of the cost, and the exemplar tables
    /// of a 32768-feature index are hundreds of MiB.
    public init(repeating value: Element, count: Int) {
        self.count = count
        storage = ColumnStorage(owning: count * MemoryLayout<Element>.stride)
        let elements = UncheckedSendable(storage.base.bindMemory(to: Element.self, capacity: count))
        let parts = Swift.max(1, Swift.min(ProcessInfo.activeCores, count * MemoryLayout<Element>.stride >> 22))
        parallelFor(parts) { part in
            let first = part * count / parts, end = (part + 1) * count / parts
            (elements.value + first).initialize(repeating: value, count: end - first)
        }
    }

    public init(_ elements: [Element]) {
        count = elements.count
        storage = ColumnStorage(owning: count * MemoryLayout<Element>.stride)
        let target = storage.base.bindMemory(to: Element.self, capacity: count)
        elements.withUnsafeBufferPointer { target.initialize(from: $0.baseAddress!, count: count) }
    }

    /// Views `count` elements at `pointer`, inside `mapping`, which the column keeps alive. An
    /// address that is not aligned for `Element` is copied instead.
    init(viewing pointer: UnsafeRawPointer, count: Int, in mapping: ByteBuffer) {
        self.count = count
        if Int(bitPattern: pointer) % MemoryLayout<Element>.alignment == 0 {
            storage = ColumnStorage(viewing: pointer, in: mapping)
            _ = storage.base.bindMemory(to: Element.self, capacity: count)
        } else {
            let byteCount = count * MemoryLayout<Element>.stride
            storage = ColumnStorage(owning: byteCount)
            storage.base.copyMemory(from: pointer, byteCount: byteCount)
            _ = storage.base.bindMemory(to: Element.self, capacity: count)
        }
    }

    private var elements: UnsafeMutablePointer<Element> { storage.base.assumingMemoryBound(to: Element.self) }

    /// Makes the storage owned and unreferenced elsewhere, copying it if needed.
    private mutating func makeUnique() {
        guard !isKnownUniquelyReferenced(&storage) || storage.mapping != nil else { return }
        let byteCount = count * MemoryLayout<Element>.stride
        let copy = ColumnStorage(owning: byteCount)
        copy.base.copyMemory(from: storage.base, byteCount: byteCount)
        _ = copy.base.bindMemory(to: Element.self, capacity: count)
        storage = copy
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(UnsafeBufferPointer(start: elements, count: count)) }
    }

    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Element>) throws -> R) rethrows -> R {
        makeUnique()
        return try withExtendedLifetime(storage) { try body(UnsafeMutableBufferPointer(start: elements, count: count)) }
    }

    /// The elements' address after making them unique: for writers that keep the column (and
    /// never copy it) for as long as they use the pointer, e.g. across worker threads.
    mutating func uniqueBaseAddress() -> UnsafeMutablePointer<Element> {
        makeUnique()
        return elements
    }

    /// The elements as an array (one copy).
    public var array: [Element] {
        [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { buffer.baseAddress!.initialize(from: elements, count: count) }
            initialized = count
        }
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) {
            try body(UnsafeRawBufferPointer(start: storage.base, count: count * MemoryLayout<Element>.stride))
        }
    }
}

extension TableColumn: RandomAccessCollection, MutableCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> Element {
        get {
            precondition(position >= 0 && position < count, "table index out of range")
            return elements[position]
        }
        set {
            precondition(position >= 0 && position < count, "table index out of range")
            makeUnique()
            elements[position] = newValue
        }
    }
}

extension TableColumn: Equatable where Element: Equatable {
    public static func == (a: Self, b: Self) -> Bool {
        a.count == b.count && (a.storage === b.storage || a.elementsEqual(b))
    }
}

extension TableColumn: CustomStringConvertible {
    public var description: String { Array(self).description }
}

/// Bytes behind a column: a heap allocation, or a pointer into a memory map that it keeps alive.
private final class ColumnStorage {
    let base: UnsafeMutableRawPointer
    let mapping: ByteBuffer?

    init(owning byteCount: Int) {
        base = .allocate(byteCount: max(byteCount, 1), alignment: 64)
        mapping = nil
    }

    init(viewing pointer: UnsafeRawPointer, in mapping: ByteBuffer) {
        // Never written: makeUnique copies a mapped column before any write.
        base = UnsafeMutableRawPointer(mutating: pointer)
        self.mapping = mapping
    }

    deinit { if mapping == nil { base.deallocate() } }
}
