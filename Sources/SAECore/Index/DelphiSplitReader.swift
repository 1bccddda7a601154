import CKernels
import Foundation

/// The two passes over one split's mapped columns (C kernels, delphi_splits.c): find the entries
/// of a row range (they ascend by row), check them, count them per latent; then scatter the
/// entries of a latent range into per-latent lists whose rows ascend.
struct DelphiSplitReader {
    let split: DelphiLatentCache.Split
    let sequenceCount: Int
    let contextLength: Int
    private let locationType: Int32
    private let valueType: Int32

    init(split: DelphiLatentCache.Split, sequenceCount: Int, contextLength: Int) {
        self.split = split
        self.sequenceCount = sequenceCount
        self.contextLength = contextLength
        switch split.locations.dtype {
        case .uint16: locationType = Int32(CK_LOCATIONS_U16)
        case .uint32: locationType = Int32(CK_LOCATIONS_U32)
        case .int32: locationType = Int32(CK_LOCATIONS_I32)
        default: locationType = Int32(CK_LOCATIONS_I64)
        }
        switch split.activations.dtype {
        case .float16: valueType = Int32(CK_VALUES_F16)
        case .float32: valueType = Int32(CK_VALUES_F32)
        default: valueType = Int32(CK_VALUES_BF16)
        }
    }

    private var locations: UnsafeRawPointer { UnsafeRawPointer(split.locations.buffer.base + split.locations.byteOffset) }
    private var values: UnsafeRawPointer { UnsafeRawPointer(split.activations.buffer.base + split.activations.byteOffset) }

    private func row(_ entry: Int) -> Int { Int(ck_delphi_row(locations, locationType, Int64(contextLength), Int64(entry))) }

    /// The entries on `rows` if rows ascend (binary searches; unchecked).
    func entries(on rows: Range<Int>) -> Range<Int> {
        let n = split.entryCount
        func firstEntry(atOrAfter target: Int) -> Int {
            var low = 0, high = n
            while low < high {
                let middle = (low + high) / 2
                if row(middle) < target { low = middle + 1 } else { high = middle }
            }
            return low
        }
        let first = rows.lowerBound <= 0 ? 0 : firstEntry(atOrAfter: rows.lowerBound)
        let end = rows.upperBound >= sequenceCount * contextLength ? n : firstEntry(atOrAfter: rows.upperBound)
        return first..<max(first, end)
    }

    /// The bytes of both columns that `entries` occupy (what a pass over them reads).
    func columnBytes(of entries: Range<Int>) -> [UnsafeRawBufferPointer] {
        let locationSize = 3 * split.locations.dtype.byteSize, valueSize = split.activations.dtype.byteSize
        return [UnsafeRawBufferPointer(start: locations + entries.lowerBound * locationSize, count: entries.count * locationSize),
                UnsafeRawBufferPointer(start: values + entries.lowerBound * valueSize, count: entries.count * valueSize)]
    }

    /// The entries on `rows`, checked (in the token matrix, in the split's latents, rows never
    /// going back, also across the range's edges); `counts[offset]` gains each entry's latent.
    func checkedEntries(on rows: Range<Int>, counts: UnsafeMutablePointer<UInt32>) throws -> Range<Int> {
        let n = split.entryCount
        // Rows ascend (checked below); what lies outside the range is checked only at its edges.
        let found = entries(on: rows), first = found.lowerBound, end = found.upperBound
        var previous: Int64 = -1
        if first > 0 {
            try check(first - 1..<first, previous: -1, counts: nil)
            previous = Int64(row(first - 1))
        }
        try check(first..<end, previous: previous, counts: counts)
        if end < n { try check(end..<end + 1, previous: end > 0 ? Int64(row(end - 1)) : -1, counts: nil) }
        return first..<end
    }

    private func check(_ entries: Range<Int>, previous: Int64, counts: UnsafeMutablePointer<UInt32>?) throws {
        guard !entries.isEmpty else { return }
        let width = split.latents.count
        let failed = Int(ck_delphi_check(locations, locationType, Int64(entries.lowerBound), Int64(entries.upperBound),
                                         Int64(sequenceCount), Int64(contextLength), Int64(width), previous, counts))
        guard failed >= 0 else { return }
        let field = { (column: Int) -> Int64 in
            switch split.locations.dtype {
            case .uint16: Int64(locations.loadUnaligned(fromByteOffset: (3 * failed + column) * 2, as: UInt16.self))
            case .uint32: Int64(locations.loadUnaligned(fromByteOffset: (3 * failed + column) * 4, as: UInt32.self))
            case .int32: Int64(locations.loadUnaligned(fromByteOffset: (3 * failed + column) * 4, as: Int32.self))
            default: locations.loadUnaligned(fromByteOffset: (3 * failed + column) * 8, as: Int64.self)
            }
        }
        let batchRow = field(0), position = field(1), offset = field(2)
        guard batchRow >= 0, batchRow < sequenceCount, position >= 0, position < contextLength else {
            throw SaescopeError("location \(failed) (batch row \(batchRow), position \(position)) lies outside the token matrix [\(sequenceCount), \(contextLength)]", file: split.path)
        }
        guard offset >= 0, offset < width else {
            throw SaescopeError("location \(failed) has latent offset \(offset), outside the split's \(width) latents", file: split.path)
        }
        throw SaescopeError("locations are not in (batch row, position) order at entry \(failed), as delphi's torch.nonzero writes them", file: split.path)
    }

    /// Appends the entries of `entries` (checked) whose latent offset lies in `latents` to the
    /// lists: offset o's list starts at cursor[o - latents.lowerBound], which advances; rows are
    /// stored as row - baseRow.
    func scatter(_ entries: Range<Int>, latents: Range<Int>, baseRow: Int, cursor: UnsafeMutablePointer<UInt32>,
                 codes: UnsafeMutablePointer<ck_code>) {
        ck_delphi_scatter(locations, locationType, values, valueType, Int64(entries.lowerBound), Int64(entries.upperBound),
                          Int64(contextLength), Int64(baseRow), Int64(latents.lowerBound), Int64(latents.upperBound), cursor, codes)
    }
}
