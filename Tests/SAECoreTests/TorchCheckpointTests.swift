import Foundation
import XCTest
import TestSupport
@testable import SAECore

/// Fixtures come from tools/fixtures/make_pickle_fixtures.py: real `torch.save` checkpoints, each
/// with a numpy-written `.expected.safetensors` (values as float32 or int64, dtype names in the
/// metadata), plus hand-built hostile and broken files that must be refused.
final class TorchCheckpointTests: XCTestCase {
    static let realFixtures = [
        "module_state_dict", "protocol4", "protocol5", "archive_root", "dtypes",
        "noncontiguous", "shared_storage", "nested", "parameters",
    ]
    static let pwned = "/tmp/saescope-pwned"

    static func fixture(_ name: String) -> String { Fixtures.path("pickle/\(name).pt") }

    func testRealFixturesLoadWithExactValues() throws {
        for name in Self.realFixtures {
            let loaded = try TorchCheckpoint.read(path: Self.fixture(name))
            let expected = try Safetensors.read(path: Fixtures.path("pickle/\(name).expected.safetensors"))
            XCTAssertEqual(loaded.source, Self.fixture(name))
            XCTAssertEqual(Set(loaded.tensors.keys), Set(expected.tensors.keys), name)
            XCTAssertFalse(expected.tensors.isEmpty, name)
            for (key, want) in expected.tensors {
                let got = try loaded.require(key)
                XCTAssertEqual(got.dtype.rawValue, expected.metadata[key], "\(name) \(key) dtype")
                XCTAssertEqual(got.shape, want.shape, "\(name) \(key) shape")
                if want.dtype == .float32 {
                    XCTAssertEqual(got.floats().map(\.bitPattern), want.floats().map(\.bitPattern), "\(name) \(key) values")
                } else {
                    XCTAssertEqual(try got.int64s(), try want.int64s(), "\(name) \(key) values")
                }
            }
        }
    }

    func testModuleStateDictHasItsParametersAndTheIntegerKBuffer() throws {
        let loaded = try TorchCheckpoint.read(path: Self.fixture("module_state_dict"))
        XCTAssertEqual(Set(loaded.tensors.keys), ["encoder.weight", "encoder.bias", "W_dec", "b_dec", "k", "threshold"])
        let k = try loaded.require("k", shape: [])
        XCTAssertEqual(k.dtype, .int32)
        XCTAssertEqual(try k.scalar(), 4)
        XCTAssertEqual(try loaded.require("threshold", shape: []).scalar(), 0.25)
        XCTAssertEqual(try loaded.require("encoder.weight").shape, [6, 4])
        // `_metadata` (set by BUILD on the OrderedDict) is not a tensor and not a leaf.
        XCTAssertNil(loaded["_metadata"])
    }

    func testContiguousTensorsAreViewsIntoTheMapAndStridedOnesAreCopies() throws {
        let loaded = try TorchCheckpoint.read(path: Self.fixture("noncontiguous"))
        let wt = try loaded.require("wt", shape: [5, 3])
        XCTAssertEqual(wt.floats(), [-2, 0.5, 3, -1.5, 1, 3.5, -1, 1.5, 4, -0.5, 2, 4.5, 0, 2.5, 5])
        XCTAssertEqual(try loaded.require("column", shape: [3]).floats(), [-1.5, 1, 3.5])
        XCTAssertEqual(try loaded.require("expanded", shape: [2, 3]).floats(), [1, 2, 3, 1, 2, 3])
        XCTAssertEqual(try loaded.require("int_t", shape: [3, 2]).int64s(), [0, 3, 1, 4, 2, 5])
        XCTAssertEqual(wt.byteOffset, 0, "a strided view is copied into its own buffer")

        let module = try TorchCheckpoint.read(path: Self.fixture("module_state_dict"))
        let buffers = Set(module.tensors.values.map { ObjectIdentifier($0.buffer) })
        XCTAssertEqual(buffers.count, 1, "all contiguous tensors view the one memory map")
        for tensor in module.tensors.values where tensor.dtype == .float32 {
            XCTAssertEqual(tensor.byteOffset % 64, 0, "torch aligns storages to 64 bytes")
        }
    }

    func testTensorsSharingAStorageViewItAtTheirOffsets() throws {
        let loaded = try TorchCheckpoint.read(path: Self.fixture("shared_storage"))
        let full = try loaded.require("full", shape: [10])
        let a = try loaded.require("a", shape: [4])
        let b = try loaded.require("b", shape: [2, 3])
        let tail = try loaded.require("tail_scalar", shape: [])
        XCTAssertTrue(a.buffer === full.buffer && b.buffer === full.buffer && tail.buffer === full.buffer)
        XCTAssertEqual(a.byteOffset, full.byteOffset)
        XCTAssertEqual(b.byteOffset, full.byteOffset + 16)
        XCTAssertEqual(tail.byteOffset, full.byteOffset + 36)
        XCTAssertEqual(b.floats(), [6, 7.5, 9, 10.5, 12, 13.5])
        XCTAssertEqual(try tail.scalar(), 13.5)
    }

    func testNestedCheckpointsFlattenWithDottedNamesAndKeepScalarsAsMetadata() throws {
        let loaded = try TorchCheckpoint.read(path: Self.fixture("nested"))
        XCTAssertEqual(Set(loaded.tensors.keys), ["state_dict.encoder.weight", "state_dict.encoder.bias", "model.dec.weight"])
        XCTAssertEqual(loaded.metadata["step"], "1234")
        XCTAssertEqual(loaded.metadata["config.lr"], "0.001")
        XCTAssertEqual(loaded.metadata["config.name"], "tiny-sae")
        XCTAssertEqual(loaded.metadata["config.tied"], "False")
        XCTAssertEqual(loaded.metadata["config.device"], "cpu")
        XCTAssertNil(loaded.metadata["history"])
    }

    func testRootFolderFollowsTheSavedFileName() throws {
        for (name, root) in [("archive_root", "archive/"), ("module_state_dict", "module_state_dict/")] {
            let archive = try ZipArchive(buffer: ByteBuffer(mapping: Self.fixture(name)))
            XCTAssertEqual(try TorchCheckpoint.rootFolder(of: archive), root)
        }
    }

    // MARK: Hostile files

    func testHostileFilesAreRefusedNamingTheGlobalAndRunNothing() throws {
        try? FileManager.default.removeItem(atPath: Self.pwned)
        let cases = [
            ("hostile_os_system", "os.system"),
            ("hostile_builtins_eval", "builtins.eval"),
            ("hostile_builtin_eval_py2", "__builtin__.eval"),
            ("hostile_stack_global", "posix.system"),
            ("hostile_embedded_system", "posix.system"),
            ("hostile_embedded_popen", "subprocess.Popen"),
            ("hostile_persid_global", "os.system"),
        ]
        for (name, global) in cases {
            let path = Self.fixture(name)
            XCTAssertThrowsError(try TorchCheckpoint.read(path: path), name) { error in
                guard let error = error as? SaescopeError else { return XCTFail("\(name): \(error) is not a SaescopeError") }
                XCTAssertEqual(error.file, path)
                XCTAssertTrue(error.message.contains("refused to load global '\(global)'"), "\(name): \(error)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: Self.pwned), "a hostile pickle had an effect")
    }

    func testProtocolZeroOpcodesAreRefusedByName() {
        assertRefused("hostile_protocol0_string", containing: "STRING (0x53)")
    }

    func testLegacyTruncatedCompressedAndBigEndianFilesGetClearErrors() throws {
        assertRefused("legacy", containing: "legacy (pre-1.6) format")
        assertRefused("legacy", containing: "re-save it with torch.save in torch >= 1.6")
        assertRefused("truncated", containing: "truncated")
        assertRefused("deflated", containing: "compressed")
        assertRefused("big_endian", containing: "little-endian checkpoints only")
        XCTAssertThrowsError(try TorchCheckpoint.parse(ByteBuffer(copying: Array("hello, world".utf8)), source: "x.pt")) { error in
            XCTAssertEqual("\(error)", "x.pt: not a PyTorch zip archive (expected a file written by torch.save)")
        }
        XCTAssertThrowsError(try TorchCheckpoint.parse(ByteBuffer(copying: [UInt8]()), source: "empty.pt")) { error in
            XCTAssertTrue("\(error)".contains("not a PyTorch zip archive"), "\(error)")
        }
        XCTAssertThrowsError(try TorchCheckpoint.read(path: Fixtures.path("pickle/does-not-exist.pt"))) { error in
            XCTAssertTrue(error is SaescopeError)
        }
    }

    private func assertRefused(_ name: String, containing text: String, file: StaticString = #filePath, line: UInt = #line) {
        let path = Self.fixture(name)
        XCTAssertThrowsError(try TorchCheckpoint.read(path: path), file: file, line: line) { error in
            guard let error = error as? SaescopeError else { return XCTFail("\(error) is not a SaescopeError", file: file, line: line) }
            XCTAssertEqual(error.file, path, file: file, line: line)
            XCTAssertTrue(error.message.contains(text), "\(name): \(error)", file: file, line: line)
        }
    }

    // MARK: Synthetic checkpoints

    func testZip64CheckpointWithCommentAndAnotherRootLoads() throws {
        var pickle = PickleWriter()
        pickle.proto(2)
        pickle.emptyDict()
        pickle.string("w")
        pickle.tensorV2(storage: "FloatStorage", key: "0", numel: 4, offset: 1, size: [3], stride: [1])
        pickle.setItem()
        pickle.stop()
        let values: [Float] = [9, 1.5, -2, 3.25]
        let bytes = TestZip.torchCheckpoint(pickle: pickle.bytes, storages: ["0": values.withUnsafeBytes { Array($0) }],
                                            root: "old_style_name", zip64: true, comment: Array("a comment".utf8))
        let loaded = try TorchCheckpoint.parse(ByteBuffer(copying: bytes), source: "zip64.pt")
        XCTAssertEqual(try loaded.require("w").floats(), [1.5, -2, 3.25])
    }

    func testRebuildTensorV3ReadsKnownDtypesAndNamesUnknownOnes() throws {
        func checkpoint(dtype: String) -> [UInt8] {
            var pickle = PickleWriter()
            pickle.proto(2)
            pickle.emptyDict()
            pickle.string("t")
            pickle.global("torch._utils", "_rebuild_tensor_v3")
            pickle.mark()
            pickle.storage(type: "UntypedStorage", module: "torch.storage", key: "0", numel: 8)
            pickle.int(0)
            pickle.intTuple([2])
            pickle.intTuple([1])
            pickle.newFalse()
            pickle.global("collections", "OrderedDict")
            pickle.emptyTuple()
            pickle.reduce()
            pickle.global("torch", dtype)
            pickle.tuple()
            pickle.reduce()
            pickle.setItem()
            pickle.stop()
            let data: [Int32] = [-7, 70_000]
            return TestZip.torchCheckpoint(pickle: pickle.bytes, storages: ["0": data.withUnsafeBytes { Array($0) }])
        }
        let loaded = try TorchCheckpoint.parse(ByteBuffer(copying: checkpoint(dtype: "int32")), source: "v3.pt")
        XCTAssertEqual(try loaded.require("t").int64s(), [-7, 70_000])
        XCTAssertThrowsError(try TorchCheckpoint.parse(ByteBuffer(copying: checkpoint(dtype: "uint16")), source: "v3.pt")) { error in
            XCTAssertTrue("\(error)".contains("dtype torch.uint16 is not supported"), "\(error)")
        }
    }

    func testStorageBoundsAreChecked() throws {
        func checkpoint(numel: Int, offset: Int, size: [Int], stride: [Int], bytes: Int) -> [UInt8] {
            var pickle = PickleWriter()
            pickle.proto(2)
            pickle.emptyDict()
            pickle.string("w")
            pickle.tensorV2(storage: "FloatStorage", key: "0", numel: numel, offset: offset, size: size, stride: stride)
            pickle.setItem()
            pickle.stop()
            return TestZip.torchCheckpoint(pickle: pickle.bytes, storages: ["0": [UInt8](repeating: 0, count: bytes)])
        }
        func refusal(_ bytes: [UInt8]) -> String {
            do {
                _ = try TorchCheckpoint.parse(ByteBuffer(copying: bytes), source: "b.pt")
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(refusal(checkpoint(numel: 4, offset: 2, size: [3], stride: [1], bytes: 16)).contains("past its storage's 4 elements"))
        XCTAssertTrue(refusal(checkpoint(numel: 4, offset: 0, size: [2, 2], stride: [3, 1], bytes: 16)).contains("past its storage"))
        XCTAssertTrue(refusal(checkpoint(numel: 5, offset: 0, size: [4], stride: [1], bytes: 16)).contains("declares 5 elements"))
        XCTAssertTrue(refusal(checkpoint(numel: 4, offset: 0, size: [1 << 20, 1 << 10], stride: [0, 0], bytes: 16)).contains("would expand"))
        XCTAssertTrue(refusal(checkpoint(numel: 4, offset: 0, size: [Int(Int32.max), 3], stride: [Int(Int32.max), Int(Int32.max)], bytes: 16)).contains("past"))
        XCTAssertEqual(refusal(checkpoint(numel: 4, offset: 4, size: [0], stride: [1], bytes: 16)), "loaded")
    }

    func testSelfReferentialDictsDoNotHang() throws {
        var pickle = PickleWriter()
        pickle.proto(2)
        pickle.emptyDict()
        pickle.binput(0)
        pickle.string("me")
        pickle.binget(0)
        pickle.setItem()
        pickle.stop()
        let bytes = TestZip.torchCheckpoint(pickle: pickle.bytes, storages: [:])
        XCTAssertThrowsError(try TorchCheckpoint.parse(ByteBuffer(copying: bytes), source: "cycle.pt")) { error in
            XCTAssertTrue("\(error)".contains("nest more than"), "\(error)")
        }
    }
}

// MARK: - Zip reader

final class ZipArchiveTests: XCTestCase {
    func testZipStoredEntriesAreZeroCopySlices() throws {
        let bytes = TestZip.build([.init(name: "a/x", data: [1, 2, 3]), .init(name: "a/y", data: [])])
        let buffer = ByteBuffer(copying: bytes)
        let archive = try ZipArchive(buffer: buffer)
        XCTAssertEqual(archive.entries.map(\.name), ["a/x", "a/y"])
        let data = try archive.data(of: archive.entry(named: "a/x")!)
        XCTAssertEqual(Array(data), [1, 2, 3])
        XCTAssertTrue(data.baseAddress! >= buffer.base && data.baseAddress! < buffer.base + buffer.count)
        XCTAssertEqual(try archive.data(of: archive.entry(named: "a/y")!).count, 0)
    }

    func testZip64RecordsAndExtraFieldsAreRead() throws {
        let bytes = TestZip.build([.init(name: "big", data: Array(repeating: 7, count: 100))], zip64: true, comment: Array("hi".utf8))
        let archive = try ZipArchive(buffer: ByteBuffer(copying: bytes))
        let entry = try XCTUnwrap(archive.entry(named: "big"))
        XCTAssertEqual(entry.compressedSize, 100)
        XCTAssertEqual(try archive.data(of: entry).count, 100)
    }

    func testZipCommentOfMaximumLengthIsSkipped() throws {
        let bytes = TestZip.build([.init(name: "f", data: [42])], comment: Array(repeating: 0x50, count: 65_535))
        let archive = try ZipArchive(buffer: ByteBuffer(copying: bytes))
        XCTAssertEqual(Array(try archive.data(of: archive.entry(named: "f")!)), [42])
    }

    func testZipCompressedEntriesAreRefused() throws {
        let bytes = TestZip.build([.init(name: "f", data: [1, 2], method: 8)])
        let archive = try ZipArchive(buffer: ByteBuffer(copying: bytes))
        XCTAssertThrowsError(try archive.data(of: archive.entry(named: "f")!)) { error in
            XCTAssertTrue("\(error)".contains("compressed (method 8)"), "\(error)")
        }
    }

    func testZipWithHostileSizesAndOffsetsIsRefused() throws {
        let good = TestZip.build([.init(name: "f", data: Array(repeating: 1, count: 40))])
        let central = TestZip.find([0x50, 0x4B, 0x01, 0x02], in: good)!
        let end = TestZip.find([0x50, 0x4B, 0x05, 0x06], in: good)!
        func corrupt(_ offset: Int, _ value: UInt32) -> [UInt8] {
            var bytes = good
            withUnsafeBytes(of: value.littleEndian) { for (i, byte) in $0.enumerated() { bytes[offset + i] = byte } }
            return bytes
        }
        let cases: [[UInt8]] = [
            corrupt(central + 20, 0x7FFF_FFFF), corrupt(central + 24, 0xFFFF_FFF0), corrupt(central + 42, 0xFFFF_FF00),
            corrupt(central + 20, 0xFFFF_FFFF), corrupt(end + 12, 0xFFFF_FFFF), corrupt(end + 16, 0xFFFF_FFF0),
            corrupt(end + 8, 0xFFFF_FFFF), corrupt(central + 28, 0xFFFF_FFFF), Array(good.dropLast(1)),
        ]
        for bytes in cases {
            do {
                let archive = try ZipArchive(buffer: ByteBuffer(copying: bytes))
                for entry in archive.entries { _ = try archive.data(of: entry) }
                XCTFail("corrupt archive was accepted")
            } catch let error as SaescopeError {
                XCTAssertFalse(error.message.isEmpty)
            }
        }
    }
}

// MARK: - Pickle machine

final class RestrictedPickleTests: XCTestCase {
    /// The result owns the containers: they are emptied when it is released.
    func unpickle(_ bytes: [UInt8]) throws -> PickleResult {
        try bytes.withUnsafeBytes { try RestrictedUnpickler.unpickle($0) }
    }

    func testPickleScalarsAndContainers() throws {
        var pickle = PickleWriter()
        pickle.proto(2)
        pickle.emptyList()
        pickle.mark()
        pickle.bytes += [0x8A, 1, 0xFF]                      // LONG1 -1
        pickle.bytes += [0x8A, 8] + withUnsafeBytes(of: Int64.min.littleEndian) { Array($0) }
        pickle.bytes += [0x8A, 0]                            // LONG1 0
        pickle.bytes += [0x4A] + withUnsafeBytes(of: Int32(-5).littleEndian) { Array($0) }
        pickle.bytes += [0x4D, 0x34, 0x12]                   // BININT2
        pickle.bytes += [0x47] + withUnsafeBytes(of: (1.25).bitPattern.bigEndian) { Array($0) }
        pickle.bytes += [0x4E, 0x88, 0x43, 2, 0xAB, 0xCD]    // None, True, SHORT_BINBYTES
        pickle.bytes += [0x8C, 3] + Array("abc".utf8)
        pickle.bytes += [0x65, 0x2E]                         // APPENDS, STOP
        let result = try unpickle(pickle.bytes)
        guard case .list(let list) = result.root else { return XCTFail("expected a list") }
        let described = list.items.map { item -> String in
            switch item {
            case .int(let v): "\(v)"
            case .float(let v): "\(v)"
            case .none: "None"
            case .bool(let v): "\(v)"
            case .bytes(let v): "\(v)"
            case .string(let v): v
            default: "?"
            }
        }
        XCTAssertEqual(described, ["-1", "\(Int64.min)", "0", "-5", "4660", "1.25", "None", "true", "[171, 205]", "abc"])
        withExtendedLifetime(result) {}
    }

    func testPickleRefusesLargeIntegersUnknownOpcodesAndUnderflow() {
        let cases: [([UInt8], String)] = [
            ([0x80, 2, 0x8A, 9] + Array(repeating: 1, count: 9) + [0x2E], "integer of 9 bytes"),
            ([0x80, 2, 0x81, 0x2E], "NEWOBJ (0x81)"),
            ([0x80, 2, 0x69], "INST (0x69)"),
            ([0x80, 2, 0x2E], "stack underflow"),
            ([0x80, 2, 0x28, 0x73], "stack underflow"),            // SETITEM below the MARK
            ([0x80, 2, 0x68, 5], "memo entry 5"),
            ([0x80, 2, 0x4E], "without a STOP"),
            ([0x80, 9], "protocol 9"),
            ([0x80, 2, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x41], "runs past the end"),
            ([0x80, 2, 0x63] + Array("torch\nload\n".utf8), "refused to load global 'torch.load'"),
            ([0x80, 2, 0x63] + Array("torch\nFloatStorage".utf8), "ends inside a line"),
            ([0x80, 2, 0x4E, 0x4E, 0x62], "BUILD on None is not allowed"),
            ([0x80, 2, 0x4E, 0x29, 0x52], "REDUCE calls None"),
        ]
        for (bytes, text) in cases {
            XCTAssertThrowsError(try unpickle(bytes)) { error in
                XCTAssertTrue(error is SaescopeError)
                XCTAssertTrue("\(error)".contains(text), "expected '\(text)' in: \(error)")
            }
        }
    }

    func testPickleDeepNestingIsBoundedAndFreedWithoutRecursion() throws {
        // 100k nested tuples: refused at the tuple nesting limit, not by a stack overflow.
        let deepTuples = [0x80, 2, 0x4E] + [UInt8](repeating: 0x85, count: 100_000) + [0x2E]
        XCTAssertThrowsError(try unpickle(deepTuples)) { error in
            XCTAssertTrue("\(error)".contains("nest more than"), "\(error)")
        }
        // A 200k-deep chain of lists (each appended into the one below it on the stack): allowed,
        // and released iteratively (dropping it recursively would overflow the thread's stack).
        let chain = [0x80, 2] + [UInt8](repeating: 0x5D, count: 200_001) + [UInt8](repeating: 0x61, count: 200_000) + [0x2E]
        guard case .list = try unpickle(chain).root else { return XCTFail("expected a list") }
    }
}
