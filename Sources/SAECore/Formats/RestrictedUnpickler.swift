/// A pickle virtual machine that understands only what a PyTorch state dict needs, and never
/// runs code from the file.
///
/// Python's unpickler imports any module the stream names and calls any callable with any
/// arguments. This one resolves globals against a fixed allow-list (OrderedDict, torch's tensor
/// and parameter rebuild functions, storage classes, dtypes, `torch.device`) and implements each
/// natively in Swift; any other global, and any opcode outside the binary protocols 2-5 subset
/// torch uses, is refused with an error naming it.
///
/// Resource limits hold against hostile streams: every read is bounded by the bytes left, the
/// stack, memo, mark depth and object count are capped, and nothing recurses on the input.
/// Containers are reference objects (pickle shares them through the memo); all of them are
/// kept in a registry and emptied when the result is released, so cycles don't leak and deep
/// chains are freed without recursion.
struct RestrictedUnpickler {
    struct Limits {
        var maximumStackDepth = 1 << 22
        var maximumMarkDepth = 1 << 12
        var maximumMemoEntries = 1 << 22
        var maximumObjects = 1 << 22
        var maximumTupleNesting = 256
        var maximumRank = 64
    }

    /// Unpickles `bytes`, returning the top-level object and the containers it owns.
    static func unpickle(_ bytes: UnsafeRawBufferPointer, limits: Limits = Limits()) throws -> PickleResult {
        var machine = Machine(bytes: bytes, limits: limits)
        let registry = machine.registry
        do {
            let root = try machine.run()
            return PickleResult(root: root, registry: registry)
        } catch {
            registry.tearDown()
            throw error
        }
    }
}

// MARK: Values

/// What the restricted unpickler can produce.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    /// An allow-listed global (a class, function, storage type or dtype).
    case global(PickleGlobal)
    /// A torch storage named by a persistent id.
    case storage(TorchStorageReference)
    /// A tensor rebuilt by `_rebuild_tensor_v2/v3` (a strided view of a storage).
    case tensor(TorchTensorReference)

    /// The kind with an indefinite article, for messages ("an int", "a tuple").
    var kindWithArticle: String {
        let kind = kindName
        if case .none = self { return kind }
        return ("aeiouAEIOU".contains(kind.first ?? "x") ? "an " : "a ") + kind
    }

    var kindName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict(let dict): dict.isOrdered ? "OrderedDict" : "dict"
        case .global(let global): global.qualifiedName
        case .storage: "storage"
        case .tensor: "tensor"
        }
    }
}

/// Containers are classes so memo references share them, as in Python.
final class PickleTuple {
    private(set) var items: [PickleValue]
    /// How many tuples deep this one is (tuples inside tuples); bounded so nothing can be too deep to walk.
    let nesting: Int
    init(_ items: [PickleValue], nesting: Int) {
        self.items = items
        self.nesting = nesting
    }
    fileprivate func clear() { items = [] }
}

final class PickleList {
    fileprivate(set) var items: [PickleValue] = []
    fileprivate func clear() { items = [] }
}

final class PickleDict {
    /// Hashable form of the scalar keys pickle dicts use; other keys are kept but not deduplicated.
    enum Key: Hashable {
        case string(String)
        case int(Int64)
        case bool(Bool)
        case none
        case float(UInt64)

        init?(_ value: PickleValue) {
            switch value {
            case .string(let text): self = .string(text)
            case .int(let number): self = .int(number)
            case .bool(let flag): self = .bool(flag)
            case .none: self = .none
            case .float(let number): self = .float(number.bitPattern)
            default: return nil
            }
        }
    }

    let isOrdered: Bool
    fileprivate(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var index: [Key: Int] = [:]
    /// What BUILD set on an OrderedDict (torch stores `_metadata` this way); kept, not interpreted.
    fileprivate(set) var state: PickleValue?

    init(isOrdered: Bool) { self.isOrdered = isOrdered }

    fileprivate func set(_ key: PickleValue, _ value: PickleValue) {
        if let hashable = Key(key) {
            if let position = index[hashable] {
                entries[position].value = value
                return
            }
            index[hashable] = entries.count
        }
        entries.append((key, value))
    }

    fileprivate func clear() {
        entries = []
        index = [:]
        state = nil
    }
}

/// The globals a state dict may name. Everything else is refused.
enum PickleGlobal: Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildTensorV3
    case rebuildParameter
    case rebuildParameterWithState
    /// `torch.FloatStorage` and friends; `dtype` is nil for storage types saescope cannot read.
    case storageType(name: String, dtype: DType?)
    /// `torch.storage.UntypedStorage` (bytes; used with `_rebuild_tensor_v3`).
    case untypedStorage
    /// `torch.float32` and friends; `dtype` is nil for dtypes saescope cannot read.
    case dtype(name: String, dtype: DType?)
    case device

    var qualifiedName: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildTensorV3: "torch._utils._rebuild_tensor_v3"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: "torch._utils._rebuild_parameter_with_state"
        case .storageType(let name, _): "torch.\(name)"
        case .untypedStorage: "torch.storage.UntypedStorage"
        case .dtype(let name, _): "torch.\(name)"
        case .device: "torch.device"
        }
    }

    static let storageTypes: [String: DType?] = [
        "FloatStorage": .float32, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
        "DoubleStorage": .float64, "LongStorage": .int64, "IntStorage": .int32,
        "ShortStorage": .int16, "CharStorage": .int8, "ByteStorage": .uint8, "BoolStorage": .bool,
        // Real torch storage types saescope has no element type for: named in a clear error.
        "ComplexFloatStorage": nil, "ComplexDoubleStorage": nil, "QInt8Storage": nil,
        "QUInt8Storage": nil, "QInt32Storage": nil, "QUInt4x2Storage": nil, "QUInt2x4Storage": nil,
    ]

    static let dtypes: [String: DType?] = [
        "float32": .float32, "float": .float32, "float64": .float64, "double": .float64,
        "float16": .float16, "half": .float16, "bfloat16": .bfloat16,
        "int64": .int64, "long": .int64, "int32": .int32, "int": .int32,
        "int16": .int16, "short": .int16, "int8": .int8, "uint8": .uint8, "bool": .bool,
        "uint16": nil, "uint32": nil, "uint64": nil,
        "float8_e4m3fn": nil, "float8_e5m2": nil, "float8_e4m3fnuz": nil, "float8_e5m2fnuz": nil,
        "float8_e8m0fnu": nil, "float4_e2m1fn_x2": nil,
        "complex32": nil, "complex64": nil, "complex128": nil, "chalf": nil, "cfloat": nil, "cdouble": nil,
        "qint8": nil, "quint8": nil, "qint32": nil, "quint4x2": nil, "quint2x4": nil,
    ]

    /// Resolves `module.name` against the allow-list, or refuses it.
    static func resolve(module: String, name: String) throws -> PickleGlobal {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor_v3"): return .rebuildTensorV3
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch.storage", "UntypedStorage"): return .untypedStorage
        case ("torch", "device"): return .device
        case ("torch", _):
            if let dtype = storageTypes[name] {
                guard let dtype else {
                    throw SaescopeError("tensor storage type torch.\(name) is not supported (saescope reads float64/32/16, bfloat16, int64/32/16/8, uint8 and bool tensors)")
                }
                return .storageType(name: name, dtype: dtype)
            }
            if let dtype = dtypes[name] { return .dtype(name: name, dtype: dtype) }
        default:
            break
        }
        let shown = "\(module).\(name)".unicodeScalars.map { scalar in
            scalar.value >= 0x20 && scalar.value < 0x7F ? String(scalar) : "?"
        }.joined()
        let hint = module.hasPrefix("__torch__") ? " (this looks like a TorchScript archive; saescope reads torch.save state dicts)" : ""
        throw SaescopeError("refused to load global '\(shown)' from the pickle: only PyTorch tensor globals are allowed, code in the file is never run\(hint)")
    }
}

/// A storage named by torch's persistent id `('storage', StorageType, key, location, numel)`.
struct TorchStorageReference {
    /// Element type of the storage; `uint8` for an untyped (byte) storage.
    var dtype: DType
    var isUntyped: Bool
    /// Name of the storage's file, `<root>/data/<key>`.
    var key: String
    var location: String
    /// Number of elements of `dtype` (bytes for an untyped storage).
    var elementCount: Int
}

/// A tensor as `_rebuild_tensor_v2/v3` describes it: a strided view of a storage.
struct TorchTensorReference {
    var storage: TorchStorageReference
    var dtype: DType
    /// In elements of `dtype`.
    var storageOffset: Int
    var shape: [Int]
    var strides: [Int]
}

/// The unpickled top-level object; releasing it empties every container it created.
final class PickleResult {
    let root: PickleValue
    private let registry: PickleRegistry

    fileprivate init(root: PickleValue, registry: PickleRegistry) {
        self.root = root
        self.registry = registry
    }

    deinit { registry.tearDown() }
}

/// Every container the machine created, so they can be emptied without recursion.
fileprivate final class PickleRegistry {
    var tuples: [PickleTuple] = []
    var lists: [PickleList] = []
    var dicts: [PickleDict] = []
    var count: Int { tuples.count + lists.count + dicts.count }

    func tearDown() {
        for tuple in tuples { tuple.clear() }
        for list in lists { list.clear() }
        for dict in dicts { dict.clear() }
        tuples = []
        lists = []
        dicts = []
    }
}

// MARK: The machine

private struct Machine {
    var reader: ByteReader
    let limits: RestrictedUnpickler.Limits
    let registry = PickleRegistry()
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [UInt32: PickleValue] = [:]
    /// Offset of the opcode being executed, for error messages.
    var opcodeOffset = 0
    var opcode: UInt8 = 0

    init(bytes: UnsafeRawBufferPointer, limits: RestrictedUnpickler.Limits) {
        reader = ByteReader(bytes, context: "pickle stream")
        self.limits = limits
    }

    mutating func run() throws -> PickleValue {
        while true {
            opcodeOffset = reader.position
            guard !reader.isAtEnd else {
                throw SaescopeError("pickle stream ends without a STOP opcode")
            }
            opcode = try reader.readByte()
            switch opcode {
            case 0x80:  // PROTO
                let version = try reader.readByte()
                guard version <= 5 else { throw failure("unsupported pickle protocol \(version)") }
            case 0x95:  // FRAME: a length prefix for the opcodes that follow; nothing to do
                let length = try reader.readUInt64()
                guard length <= UInt64(reader.remaining) else { throw failure("FRAME of \(length) bytes runs past the end of the stream") }
            case 0x2E:  // STOP '.'
                return try pop()
            case 0x28:  // MARK '('
                guard marks.count < limits.maximumMarkDepth else { throw failure("MARKs nest more than \(limits.maximumMarkDepth) deep") }
                marks.append(stack.count)
            case 0x7D:  // EMPTY_DICT '}'
                try push(.dict(makeDict(isOrdered: false)))
            case 0x5D:  // EMPTY_LIST ']'
                try push(.list(makeList()))
            case 0x29:  // EMPTY_TUPLE ')'
                try push(.tuple(makeTuple([])))
            case 0x74:  // TUPLE 't'
                let items = try popMark()
                try push(.tuple(makeTuple(items)))
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                let count = Int(opcode - 0x84)
                var items = [PickleValue](repeating: .none, count: count)
                for position in stride(from: count - 1, through: 0, by: -1) { items[position] = try pop() }
                try push(.tuple(makeTuple(items)))
            case 0x4B:  // BININT1 'K'
                try push(.int(Int64(try reader.readByte())))
            case 0x4D:  // BININT2 'M'
                try push(.int(Int64(try reader.readUInt16())))
            case 0x4A:  // BININT 'J'
                try push(.int(Int64(try reader.readInt32())))
            case 0x8A:  // LONG1
                let length = Int(try reader.readByte())
                try push(.int(try readLong(length)))
            case 0x8B:  // LONG4
                let length = try reader.readInt32()
                guard length >= 0 else { throw failure("LONG4 with negative length \(length)") }
                try push(.int(try readLong(Int(length))))
            case 0x47:  // BINFLOAT 'G'
                try push(.float(try reader.readBigEndianDouble()))
            case 0x4E:  // NONE 'N'
                try push(.none)
            case 0x88:  // NEWTRUE
                try push(.bool(true))
            case 0x89:  // NEWFALSE
                try push(.bool(false))
            case 0x58:  // BINUNICODE 'X'
                let length = try reader.readUInt32()
                try push(.string(try readText(UInt64(length))))
            case 0x8C:  // SHORT_BINUNICODE
                let length = try reader.readByte()
                try push(.string(try readText(UInt64(length))))
            case 0x8D:  // BINUNICODE8
                let length = try reader.readUInt64()
                try push(.string(try readText(length)))
            case 0x43:  // SHORT_BINBYTES 'C'
                let length = try reader.readByte()
                try push(.bytes(try readRaw(UInt64(length))))
            case 0x42:  // BINBYTES 'B'
                let length = try reader.readUInt32()
                try push(.bytes(try readRaw(UInt64(length))))
            case 0x8E:  // BINBYTES8
                let length = try reader.readUInt64()
                try push(.bytes(try readRaw(length)))
            case 0x71:  // BINPUT 'q'
                try put(UInt32(try reader.readByte()))
            case 0x72:  // LONG_BINPUT 'r'
                try put(try reader.readUInt32())
            case 0x94:  // MEMOIZE
                guard memo.count < Int(UInt32.max) else { throw failure("memo is full") }
                try put(UInt32(memo.count))
            case 0x68:  // BINGET 'h'
                try get(UInt32(try reader.readByte()))
            case 0x6A:  // LONG_BINGET 'j'
                try get(try reader.readUInt32())
            case 0x73:  // SETITEM 's'
                let value = try pop()
                let key = try pop()
                try topDict().set(key, value)
            case 0x75:  // SETITEMS 'u'
                let items = try popMark()
                guard items.count % 2 == 0 else { throw failure("SETITEMS with an odd number of items") }
                let dict = try topDict()
                var position = 0
                while position < items.count {
                    dict.set(items[position], items[position + 1])
                    position += 2
                }
            case 0x61:  // APPEND 'a'
                let value = try pop()
                let list = try topList()
                list.items.append(value)
            case 0x65:  // APPENDS 'e'
                let items = try popMark()
                let list = try topList()
                list.items.append(contentsOf: items)
            case 0x63:  // GLOBAL 'c'
                let module = try readLine()
                let name = try readLine()
                try push(.global(PickleGlobal.resolve(module: module, name: name)))
            case 0x93:  // STACK_GLOBAL
                let name = try pop()
                let module = try pop()
                guard case .string(let nameText) = name, case .string(let moduleText) = module else {
                    throw failure("STACK_GLOBAL needs two strings, found \(module.kindWithArticle) and \(name.kindWithArticle)")
                }
                try push(.global(PickleGlobal.resolve(module: moduleText, name: nameText)))
            case 0x52:  // REDUCE 'R'
                let arguments = try pop()
                let callable = try pop()
                try push(reduce(callable, arguments))
            case 0x62:  // BUILD 'b'
                let state = try pop()
                let target = try peek()
                guard case .dict(let dict) = target, dict.isOrdered else {
                    throw failure("BUILD on \(target.kindWithArticle) is not allowed (only an OrderedDict's _metadata is)")
                }
                dict.state = state
            case 0x51:  // BINPERSID 'Q'
                let identifier = try pop()
                try push(.storage(persistentLoad(identifier)))
            default:
                throw SaescopeError("unsupported pickle opcode \(Self.describe(opcode)) at offset \(opcodeOffset): saescope reads only the binary pickles torch.save writes")
            }
        }
    }

    // MARK: Stack

    func failure(_ message: String) -> SaescopeError {
        SaescopeError("\(message) (pickle opcode \(Self.describe(opcode)) at offset \(opcodeOffset))")
    }

    mutating func push(_ value: PickleValue) throws {
        guard stack.count < limits.maximumStackDepth else { throw failure("pickle stack grows beyond \(limits.maximumStackDepth) items") }
        stack.append(value)
    }

    /// Pops one item; items below the innermost MARK are out of reach, as in Python.
    mutating func pop() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw failure("pickle stack underflow") }
        return stack.removeLast()
    }

    func peek() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let top = stack.last else { throw failure("pickle stack underflow") }
        return top
    }

    mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw failure("no MARK on the pickle stack") }
        guard mark <= stack.count else { throw failure("pickle stack underflow") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    func topDict() throws -> PickleDict {
        let top = try peek()
        guard case .dict(let dict) = top else { throw failure("expected a dict to set items on, found \(top.kindWithArticle)") }
        return dict
    }

    func topList() throws -> PickleList {
        let top = try peek()
        guard case .list(let list) = top else { throw failure("expected a list to append to, found \(top.kindWithArticle)") }
        return list
    }

    mutating func put(_ index: UInt32) throws {
        let value = try peek()
        guard memo.count < limits.maximumMemoEntries || memo[index] != nil else {
            throw failure("pickle memo grows beyond \(limits.maximumMemoEntries) entries")
        }
        memo[index] = value
    }

    mutating func get(_ index: UInt32) throws {
        guard let value = memo[index] else { throw failure("memo entry \(index) is used before it is set") }
        try push(value)
    }

    // MARK: Objects

    func checkObjectBudget() throws {
        guard registry.count < limits.maximumObjects else {
            throw failure("pickle creates more than \(limits.maximumObjects) containers")
        }
    }

    func makeDict(isOrdered: Bool) throws -> PickleDict {
        try checkObjectBudget()
        let dict = PickleDict(isOrdered: isOrdered)
        registry.dicts.append(dict)
        return dict
    }

    func makeList() throws -> PickleList {
        try checkObjectBudget()
        let list = PickleList()
        registry.lists.append(list)
        return list
    }

    func makeTuple(_ items: [PickleValue]) throws -> PickleTuple {
        try checkObjectBudget()
        var nesting = 1
        for item in items {
            if case .tuple(let inner) = item { nesting = max(nesting, inner.nesting + 1) }
        }
        guard nesting <= limits.maximumTupleNesting else {
            throw failure("tuples nest more than \(limits.maximumTupleNesting) deep")
        }
        let tuple = PickleTuple(items, nesting: nesting)
        registry.tuples.append(tuple)
        return tuple
    }

    // MARK: Operands

    /// A little-endian two's complement integer of `length` bytes (at most 8).
    mutating func readLong(_ length: Int) throws -> Int64 {
        guard length <= 8 else { throw failure("integer of \(length) bytes is too large") }
        let bytes = try reader.readBytes(length)
        guard length > 0 else { return 0 }
        var value: UInt64 = 0
        for position in 0..<length { value |= UInt64(bytes[position]) << (8 * UInt64(position)) }
        if length < 8, bytes[length - 1] & 0x80 != 0 {
            value |= ~UInt64(0) << (8 * UInt64(length))  // sign-extend
        }
        return Int64(bitPattern: value)
    }

    mutating func readRaw(_ length: UInt64) throws -> [UInt8] {
        guard length <= UInt64(reader.remaining) else {
            throw failure("\(length)-byte string runs past the end of the stream (\(reader.remaining) bytes left)")
        }
        return Array(try reader.readBytes(Int(length)))
    }

    mutating func readText(_ length: UInt64) throws -> String {
        guard length <= UInt64(reader.remaining) else {
            throw failure("\(length)-byte string runs past the end of the stream (\(reader.remaining) bytes left)")
        }
        return String(decoding: try reader.readBytes(Int(length)), as: UTF8.self)
    }

    /// One newline-terminated line of a GLOBAL operand (bounded by the bytes left).
    mutating func readLine() throws -> String {
        let line = try reader.readUntil(0x0A)
        return String(decoding: line, as: UTF8.self)
    }

    // MARK: Calls

    func reduce(_ callable: PickleValue, _ arguments: PickleValue) throws -> PickleValue {
        guard case .global(let global) = callable else {
            throw failure("REDUCE calls \(callable.kindWithArticle), not an allowed function")
        }
        guard case .tuple(let tuple) = arguments else {
            throw failure("REDUCE of \(global.qualifiedName) with \(arguments.kindName) arguments, expected a tuple")
        }
        let args = tuple.items
        switch global {
        case .orderedDict:
            guard args.isEmpty else { throw failure("collections.OrderedDict called with \(args.count) arguments, expected none") }
            return .dict(try makeDict(isOrdered: true))
        case .rebuildTensorV2:
            guard args.count == 6 || args.count == 7 else {
                throw failure("_rebuild_tensor_v2 called with \(args.count) arguments, expected 6 or 7")
            }
            guard case .storage(let storage) = args[0] else {
                throw failure("_rebuild_tensor_v2 needs a storage, found \(args[0].kindWithArticle)")
            }
            guard !storage.isUntyped else { throw failure("_rebuild_tensor_v2 of an untyped storage") }
            return .tensor(try tensorReference(storage: storage, dtype: storage.dtype, args))
        case .rebuildTensorV3:
            guard args.count == 7 || args.count == 8 else {
                throw failure("_rebuild_tensor_v3 called with \(args.count) arguments, expected 7 or 8")
            }
            guard case .storage(let storage) = args[0] else {
                throw failure("_rebuild_tensor_v3 needs a storage, found \(args[0].kindWithArticle)")
            }
            guard case .global(.dtype(let name, let dtype)) = args[6] else {
                throw failure("_rebuild_tensor_v3 needs a dtype, found \(args[6].kindWithArticle)")
            }
            guard let dtype else {
                throw failure("tensor dtype torch.\(name) is not supported (saescope reads float64/32/16, bfloat16, int64/32/16/8, uint8 and bool tensors)")
            }
            return .tensor(try tensorReference(storage: storage, dtype: dtype, args))
        case .rebuildParameter, .rebuildParameterWithState:
            let expected = global == .rebuildParameter ? 3 : 4
            guard args.count == expected else {
                throw failure("\(global.qualifiedName) called with \(args.count) arguments, expected \(expected)")
            }
            guard case .tensor = args[0] else {
                throw failure("\(global.qualifiedName) needs a tensor, found \(args[0].kindWithArticle)")
            }
            return args[0]
        case .device:
            switch (args.count, args.first, args.count == 2 ? args[1] : nil) {
            case (1, .string(let type)?, _):
                return .string(type)
            case (2, .string(let type)?, .int(let index)?):
                return .string("\(type):\(index)")
            default:
                throw failure("torch.device called with unexpected arguments")
            }
        case .storageType, .untypedStorage, .dtype:
            throw failure("\(global.qualifiedName) is not callable here")
        }
    }

    /// Checks the `(storage, storage_offset, size, stride, requires_grad, backward_hooks, ...)` arguments.
    func tensorReference(storage: TorchStorageReference, dtype: DType, _ args: [PickleValue]) throws -> TorchTensorReference {
        guard case .int(let offset) = args[1], offset >= 0, offset <= Int64(Int.max) else {
            throw failure("tensor storage offset must be a non-negative integer, found \(args[1].kindWithArticle)")
        }
        let shape = try integers(args[2], what: "size")
        let strides = try integers(args[3], what: "stride")
        guard shape.count == strides.count else {
            throw failure("tensor size has \(shape.count) dimensions but stride has \(strides.count)")
        }
        guard case .bool = args[4] else { throw failure("tensor requires_grad must be a bool, found \(args[4].kindWithArticle)") }
        return TorchTensorReference(storage: storage, dtype: dtype, storageOffset: Int(offset), shape: shape, strides: strides)
    }

    func integers(_ value: PickleValue, what: String) throws -> [Int] {
        guard case .tuple(let tuple) = value else { throw failure("tensor \(what) must be a tuple, found \(value.kindWithArticle)") }
        guard tuple.items.count <= limits.maximumRank else {
            throw failure("tensor \(what) has \(tuple.items.count) dimensions, more than \(limits.maximumRank)")
        }
        return try tuple.items.map { item in
            guard case .int(let number) = item, number >= 0, number <= Int64(Int.max) else {
                throw failure("tensor \(what) must hold non-negative integers, found \(item.kindWithArticle)")
            }
            return Int(number)
        }
    }

    /// torch's persistent id: `('storage', StorageType, key, location, numel)`.
    func persistentLoad(_ identifier: PickleValue) throws -> TorchStorageReference {
        guard case .tuple(let tuple) = identifier, tuple.items.count == 5 else {
            throw failure("persistent id is \(identifier.kindWithArticle), expected torch's ('storage', type, key, location, numel)")
        }
        let items = tuple.items
        guard case .string("storage") = items[0] else {
            throw failure("persistent id of kind \(items[0].kindName) is not a torch storage")
        }
        let dtype: DType
        let isUntyped: Bool
        switch items[1] {
        case .global(.storageType(_, let type?)):
            dtype = type
            isUntyped = false
        case .global(.untypedStorage):
            dtype = .uint8
            isUntyped = true
        default:
            throw failure("persistent id names \(items[1].kindName), not a storage type")
        }
        guard case .string(let key) = items[2] else { throw failure("storage key must be a string, found \(items[2].kindWithArticle)") }
        guard case .string(let location) = items[3] else { throw failure("storage location must be a string, found \(items[3].kindWithArticle)") }
        guard case .int(let count) = items[4], count >= 0, count <= Int64(Int.max) else {
            throw failure("storage size must be a non-negative integer, found \(items[4].kindWithArticle)")
        }
        return TorchStorageReference(dtype: dtype, isUntyped: isUntyped, key: key, location: location, elementCount: Int(count))
    }

    // MARK: Names

    static func describe(_ opcode: UInt8) -> String {
        let hex = "0x" + String(opcode, radix: 16, uppercase: true)
        let name = opcodeNames[opcode]
        let printable = opcode >= 0x20 && opcode < 0x7F ? "'\(Character(Unicode.Scalar(opcode)))' " : ""
        return name.map { "\(printable)\($0) (\(hex))" } ?? "\(printable)\(hex)"
    }

    /// Every opcode Python knows, so refusals can say what they refused.
    static let opcodeNames: [UInt8: String] = [
        0x28: "MARK", 0x2E: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT",
        0x49: "INT", 0x4A: "BININT", 0x4B: "BININT1", 0x4C: "LONG", 0x4D: "BININT2", 0x4E: "NONE",
        0x50: "PERSID", 0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING",
        0x55: "SHORT_BINSTRING", 0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD",
        0x63: "GLOBAL", 0x64: "DICT", 0x7D: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET",
        0x69: "INST", 0x6A: "LONG_BINGET", 0x6C: "LIST", 0x5D: "EMPTY_LIST", 0x6F: "OBJ", 0x70: "PUT",
        0x71: "BINPUT", 0x72: "LONG_BINPUT", 0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE",
        0x75: "SETITEMS", 0x47: "BINFLOAT", 0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2",
        0x84: "EXT4", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE",
        0x8A: "LONG1", 0x8B: "LONG4", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x8C: "SHORT_BINUNICODE",
        0x8D: "BINUNICODE8", 0x8E: "BINBYTES8", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET",
        0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8",
        0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
    ]
}
