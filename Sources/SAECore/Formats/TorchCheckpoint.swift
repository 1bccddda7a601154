import Foundation

/// Reader for PyTorch checkpoints as `torch.save(state_dict, path)` writes them (torch >= 1.6):
/// a stored (uncompressed) zip archive whose single top-level folder holds `data.pkl` (the
/// pickled object), `byteorder`, `version` and one `data/<key>` file per storage.
///
/// The pickle is read by `RestrictedUnpickler`, which never runs code from the file. Tensors
/// are rebuilt from `(storage, storage_offset, size, stride)`: contiguous ones are zero-copy
/// views into the memory map, strided ones (a saved transpose, for instance) are copied into a
/// new contiguous buffer. Nested dicts are flattened with dotted names (`{"model": {"w": t}}`
/// gives `model.w`); scalar leaves (ints, floats, bools, strings) go into the metadata, other
/// leaves (lists, None, ...) are ignored.
public enum TorchCheckpoint {
    /// Deepest dict nesting followed when flattening (also stops reference cycles).
    static let maximumNesting = 64
    /// Most dict entries visited when flattening (stops blow-ups through shared sub-dicts).
    static let maximumVisitedEntries = 1_000_000
    /// A strided view that repeats elements (stride 0) may be materialised beyond its storage's
    /// size only up to this many bytes, so a tiny hostile file cannot demand gigabytes.
    static let maximumExpansionBytes = 1 << 24

    /// Opens `path` by memory-mapping it; contiguous tensors are views into the map.
    public static func read(path: String) throws -> TensorDictionary {
        let buffer = try ByteBuffer(mapping: path)
        return try parse(buffer, source: path)
    }

    /// Parses a whole checkpoint held in `buffer`; errors name `source`.
    public static func parse(_ buffer: ByteBuffer, source: String) throws -> TensorDictionary {
        try attributingErrors(to: source) { try parseArchive(buffer, source: source) }
    }

    private static func parseArchive(_ buffer: ByteBuffer, source: String) throws -> TensorDictionary {
        let bytes = buffer.bytes
        guard ZipArchive.startsLikeZip(bytes) else {
            if isLegacyFormat(bytes) {
                throw SaescopeError("saved with torch's legacy (pre-1.6) format, which saescope does not read; re-save it with torch.save in torch >= 1.6")
            }
            throw SaescopeError("not a PyTorch zip archive (expected a file written by torch.save)")
        }
        let archive = try ZipArchive(buffer: buffer)
        let root = try rootFolder(of: archive)

        if archive.entry(named: root + "constants.pkl") != nil {
            throw SaescopeError("is a TorchScript archive (torch.jit.save); saescope reads torch.save state dicts")
        }
        if let byteorder = archive.entry(named: root + "byteorder") {
            let text = String(decoding: try archive.data(of: byteorder), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard text == "little" else {
                throw SaescopeError("was saved on a '\(text.prefix(16))'-endian machine; saescope reads little-endian checkpoints only")
            }
        }
        guard let pickleEntry = archive.entry(named: root + "data.pkl") else {
            throw SaescopeError("zip archive has no data.pkl, so it is not a PyTorch checkpoint")
        }
        let result = try RestrictedUnpickler.unpickle(try archive.data(of: pickleEntry))
        // Releasing the result empties its containers: keep it alive until the tensors are built.
        return try withExtendedLifetime(result) {
            guard case .dict(let top) = result.root else {
                if case .tensor = result.root {
                    throw SaescopeError("holds a single tensor, not a dict of named tensors (save a state_dict instead)")
                }
                throw SaescopeError("top-level object is \(result.root.kindWithArticle), expected a dict of tensors")
            }
            var builder = Builder(archive: archive, root: root, budget: MaterialisationBudget(fileSize: bytes.count))
            try builder.flatten(top)
            return TensorDictionary(tensors: builder.tensors, metadata: builder.metadata, source: source)
        }
    }

    /// torch's legacy format is a bare pickle stream that starts with a pickled magic number
    /// (0x1950a86a20f9469cfc6c); the even older one is a tar archive.
    static func isLegacyFormat(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let magic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
        if bytes.count >= 2, bytes[0] == 0x80 {
            let window = UnsafeRawBufferPointer(rebasing: bytes[0..<min(bytes.count, 64)])
            if window.count >= magic.count {
                for start in 0...(window.count - magic.count) where window[start] == magic[0] {
                    if (0..<magic.count).allSatisfy({ window[start + $0] == magic[$0] }) { return true }
                }
            }
        }
        if bytes.count >= 262 {
            let ustar: [UInt8] = Array("ustar".utf8)
            if (0..<5).allSatisfy({ bytes[257 + $0] == ustar[$0] }) { return true }
        }
        return false
    }

    /// The archive's top-level folder including its slash (`archive/`, or the saved file's stem
    /// in older torch), found as the folder holding `data.pkl`.
    static func rootFolder(of archive: ZipArchive) throws -> String {
        var candidates: [String] = []
        for entry in archive.entries where entry.name.hasSuffix("/data.pkl") {
            let folder = entry.name.dropLast("data.pkl".count)
            if folder.count > 1, !folder.dropLast().contains("/") { candidates.append(String(folder)) }
        }
        if candidates.count == 1 { return candidates[0] }
        if candidates.isEmpty {
            if archive.entry(named: "data.pkl") != nil { return "" }
            throw SaescopeError("zip archive has no data.pkl, so it is not a PyTorch checkpoint")
        }
        // Several: torch itself uses the folder of the archive's first entry.
        if let first = archive.entries.first, let slash = first.name.firstIndex(of: "/") {
            let folder = String(first.name[...slash])
            if candidates.contains(folder) { return folder }
        }
        throw SaescopeError("zip archive has several top-level folders with a data.pkl (\(candidates.prefix(4).joined(separator: ", ")))")
    }

    // MARK: Rebuilding tensors

    private struct Builder {
        let archive: ZipArchive
        let root: String
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        var storageRanges: [String: Range<Int>] = [:]
        /// Tensors already built, by what the pickle describes: a tensor the memo shares under
        /// many names is built (and a strided one copied) once.
        var builtTensors: [TensorKey: Tensor] = [:]
        var budget: MaterialisationBudget

        /// Per name or entry, besides its text: what a dictionary slot and a tensor header cost.
        static let entryOverheadBytes = 128

        struct TensorKey: Hashable {
            var storage: String
            var storageElements: Int  // so a second reference declaring another size is still checked
            var dtype: DType
            var offset: Int
            var shape: [Int]
            var strides: [Int]
        }

        init(archive: ZipArchive, root: String, budget: MaterialisationBudget) {
            self.archive = archive
            self.root = root
            self.budget = budget
        }

        mutating func flatten(_ top: PickleDict) throws {
            var pending: [(prefix: String, dict: PickleDict, depth: Int)] = [("", top, 0)]
            var visited = 0
            while let (prefix, dict, depth) = pending.popLast() {
                for (key, value) in dict.entries {
                    visited += 1
                    guard visited <= maximumVisitedEntries else {
                        throw SaescopeError("checkpoint has more than \(maximumVisitedEntries) dict entries")
                    }
                    let keyText: String
                    switch key {
                    case .string(let text): keyText = text
                    case .int(let number): keyText = String(number)
                    default: continue
                    }
                    try budget.charge(prefix.utf8.count + keyText.utf8.count + Self.entryOverheadBytes,
                                      for: "dict entry \(visited) ('\(Quoted.text(keyText, limit: 60))')")
                    let name = prefix.isEmpty ? keyText : prefix + "." + keyText
                    switch value {
                    case .tensor(let reference):
                        guard tensors[name] == nil else {
                            throw SaescopeError("checkpoint has two tensors named '\(Quoted.text(name))' after flattening nested dicts")
                        }
                        tensors[name] = try sharedTensor(reference, name: name)
                    case .dict(let inner):
                        guard depth + 1 < maximumNesting else {
                            throw SaescopeError("checkpoint dicts nest more than \(maximumNesting) deep (or refer to themselves)")
                        }
                        pending.append((name, inner, depth + 1))
                    case .int(let number): metadata[name] = String(number)
                    case .float(let number): metadata[name] = String(number)
                    case .bool(let flag): metadata[name] = flag ? "True" : "False"
                    case .string(let text):
                        try budget.charge(text.utf8.count, for: "the string under '\(Quoted.text(name, limit: 60))'")
                        metadata[name] = text
                    default: continue
                    }
                }
            }
        }

        /// The bytes of storage `reference` in the archive, checked against its declared size.
        mutating func storageRange(_ reference: TorchStorageReference, tensorName: String) throws -> Range<Int> {
            if let range = storageRanges[reference.key] { return try checked(range, reference) }
            guard let entry = archive.entry(named: root + "data/" + reference.key) else {
                throw SaescopeError("tensor '\(tensorName)' refers to storage '\(reference.key)', which the archive lacks")
            }
            let range = try archive.dataRange(of: entry)
            storageRanges[reference.key] = range
            return try checked(range, reference)
        }

        func checked(_ range: Range<Int>, _ reference: TorchStorageReference) throws -> Range<Int> {
            let (bytes, overflow) = reference.elementCount.multipliedReportingOverflow(by: reference.dtype.byteSize)
            guard !overflow, bytes == range.count else {
                throw SaescopeError("storage '\(reference.key)' holds \(range.count) bytes, but the pickle declares \(reference.elementCount) elements of \(reference.dtype.rawValue)")
            }
            return range
        }

        /// The tensor `reference` describes, built once however many names share it.
        mutating func sharedTensor(_ reference: TorchTensorReference, name: String) throws -> Tensor {
            let key = TensorKey(storage: reference.storage.key, storageElements: reference.storage.elementCount, dtype: reference.dtype, offset: reference.storageOffset,
                                shape: reference.shape, strides: reference.strides)
            if let built = builtTensors[key] { return built }
            let tensor = try makeTensor(reference, name: name)
            builtTensors[key] = tensor
            return tensor
        }

        mutating func makeTensor(_ reference: TorchTensorReference, name: String) throws -> Tensor {
            let range = try storageRange(reference.storage, tensorName: name)
            let dtype = reference.dtype
            let size = dtype.byteSize
            let available = range.count / size
            let shape = reference.shape
            let strides = reference.strides
            func fail(_ problem: String) -> SaescopeError {
                SaescopeError("tensor '\(name)': \(problem)")
            }
            guard let count = elementCount(of: shape) else { throw fail("shape \(shape) is too large") }
            guard count > 0 else {
                return try Tensor(dtype: dtype, shape: shape, buffer: archive.buffer, byteOffset: range.lowerBound)
            }
            // The last element the view reaches: offset + sum((size - 1) * stride).
            var last = reference.storageOffset
            for (dimension, stride) in zip(shape, strides) {
                let (step, overflow1) = (dimension - 1).multipliedReportingOverflow(by: stride)
                let (sum, overflow2) = last.addingReportingOverflow(step)
                guard !overflow1, !overflow2 else { throw fail("strides \(strides) reach past any storage") }
                last = sum
            }
            guard last < available else {
                throw fail("shape \(shape), stride \(strides) and offset \(reference.storageOffset) reach element \(last), past its storage's \(available) elements")
            }
            if isContiguous(shape: shape, strides: strides) {
                return try Tensor(dtype: dtype, shape: shape, buffer: archive.buffer,
                                  byteOffset: range.lowerBound + reference.storageOffset * size)
            }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, count <= available || byteCount <= maximumExpansionBytes else {
                throw fail("strided view of shape \(shape) would expand to \(count) elements from a storage of \(available)")
            }
            try budget.charge(byteCount, for: "the copy of strided tensor '\(Quoted.text(name, limit: 60))'")
            let source = archive.buffer.base + range.lowerBound + reference.storageOffset * size
            let copy = ByteBuffer(byteCount: byteCount) { destination in
                gather(from: source, into: destination, shape: shape, strides: strides, elementSize: size)
            }
            return try Tensor(dtype: dtype, shape: shape, buffer: copy, byteOffset: 0)
        }
    }

    /// Row-major contiguity; dimensions of size 1 may have any stride, as in torch.
    static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for dimension in stride(from: shape.count - 1, through: 0, by: -1) where shape[dimension] != 1 {
            guard strides[dimension] == expected else { return false }
            expected *= shape[dimension]  // bounded by the element count, checked by the caller
        }
        return true
    }

    /// Copies a strided view (every index already checked to lie in the storage) into C order.
    /// The caller guarantees a rank of at least 1 and a positive element count.
    static func gather(from source: UnsafeRawPointer, into destination: UnsafeMutableRawBufferPointer,
                       shape: [Int], strides: [Int], elementSize: Int) {
        switch elementSize {
        case 1: gather(UInt8.self, source, destination, shape, strides)
        case 2: gather(UInt16.self, source, destination, shape, strides)
        case 4: gather(UInt32.self, source, destination, shape, strides)
        default: gather(UInt64.self, source, destination, shape, strides)
        }
    }

    private static func gather<Element: FixedWidthInteger>(_: Element.Type, _ source: UnsafeRawPointer,
                                                           _ destination: UnsafeMutableRawBufferPointer,
                                                           _ shape: [Int], _ strides: [Int]) {
        let size = MemoryLayout<Element>.size
        let rank = shape.count
        let innerCount = shape[rank - 1]
        let innerStride = strides[rank - 1] * size
        let rows = destination.count / size / innerCount
        guard let output = destination.baseAddress else { return }
        var index = [Int](repeating: 0, count: rank)
        var rowStart = 0   // byte offset of the current row in the source
        var written = 0
        for _ in 0..<rows {
            var from = rowStart
            for _ in 0..<innerCount {
                output.storeBytes(of: source.loadUnaligned(fromByteOffset: from, as: Element.self), toByteOffset: written, as: Element.self)
                from += innerStride
                written += size
            }
            var dimension = rank - 2
            while dimension >= 0 {
                index[dimension] += 1
                rowStart += strides[dimension] * size
                if index[dimension] < shape[dimension] { break }
                rowStart -= shape[dimension] * strides[dimension] * size
                index[dimension] = 0
                dimension -= 1
            }
        }
    }
}
