import Foundation

/// A large scratch array in anonymous memory the kernel is asked to back with 2 MB pages
/// (transparent huge pages, `madvise` mode): scattering entries into thousands of lists at
/// once touches thousands of 4 KB pages in turn, and the TLB misses then cost more than the
/// writes. Contents are not kept when it grows.
struct HugePageBuffer<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var capacity = 0
    private var mapping: UnsafeMutableRawPointer?
    private var mappedBytes = 0
    private static var hugePage: Int { 2 << 20 }

    /// No storage: a non-null, aligned pointer that is never read (capacity 0), so nothing is
    /// allocated before the first `reserve` and nothing is left behind by `deallocate`.
    private static var none: UnsafeMutablePointer<Element> { UnsafeMutablePointer(bitPattern: MemoryLayout<Element>.alignment)! }

    init() { base = Self.none }

    /// Room for at least `count` elements (previous contents are lost when it grows).
    mutating func reserve(_ count: Int) {
        guard count > capacity else { return }
        release()
        let grown = max(count, 1024)
        let bytes = grown * MemoryLayout<Element>.stride + Self.hugePage
        guard let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), mapped != MAP_FAILED else {
            base = .allocate(capacity: grown)  // no mapping: ordinary memory
            capacity = grown
            return
        }
        // A 2 MB aligned start, so the whole array can sit in huge pages (advice only: it works either way).
        let aligned = UnsafeMutableRawPointer(bitPattern: (Int(bitPattern: mapped) + Self.hugePage - 1) & ~(Self.hugePage - 1))!
        _ = madvise(aligned, bytes - (aligned - mapped), MADV_HUGEPAGE)
        mapping = mapped
        mappedBytes = bytes
        base = aligned.bindMemory(to: Element.self, capacity: grown)
        capacity = grown
    }

    private mutating func release() {
        if let mapping {
            munmap(mapping, mappedBytes)
        } else if capacity > 0 {
            base.deallocate()
        }
        mapping = nil
        mappedBytes = 0
        base = Self.none
        capacity = 0
    }

    mutating func deallocate() { release() }
}
