import Foundation
import XCTest
import TestSupport
@testable import SAECore

/// Seeded mutation fuzzing of the PyTorch checkpoint reader: every valid fixture is damaged in
/// thousands of ways (bit flips, byte overwrites, insertions, deletions, truncation at every
/// offset, hostile zip sizes and offsets, spliced and random pickle opcodes). Each parse must
/// either succeed or throw a `SaescopeError`: never trap, never hang, never run slowly.
final class PickleFuzzTests: XCTestCase {
    /// Deterministic (SAECore's SplitMix64), so a failure names a reproducible seed and iteration.
    typealias MutationRandom = SplitMix64

    struct Sample {
        var name: String
        var bytes: [UInt8]
        /// Where data.pkl lies in `bytes`.
        var pickle: Range<Int>
    }

    static let samples: [Sample] = {
        var samples: [Sample] = []
        for name in TorchCheckpointTests.realFixtures {
            let bytes = [UInt8](FileManager.default.contents(atPath: TorchCheckpointTests.fixture(name)) ?? Data())
            samples.append(sample(name, bytes))
        }
        // A synthetic ZIP64 archive, so the zip64 records and extra fields get mutated too.
        var pickle = PickleWriter()
        pickle.proto(2)
        pickle.emptyDict()
        pickle.string("w")
        pickle.tensorV2(storage: "FloatStorage", key: "0", numel: 6, offset: 0, size: [3, 2], stride: [1, 3])
        pickle.setItem()
        pickle.stop()
        let floats: [Float] = [1, 2, 3, 4, 5, 6]
        let zip64 = TestZip.torchCheckpoint(pickle: pickle.bytes, storages: ["0": floats.withUnsafeBytes { Array($0) }], zip64: true)
        samples.append(sample("synthetic_zip64", zip64))
        return samples
    }()

    static func sample(_ name: String, _ bytes: [UInt8]) -> Sample {
        let buffer = ByteBuffer(copying: bytes)
        let archive = try! ZipArchive(buffer: buffer)
        let entry = archive.entries.first { $0.name.hasSuffix("data.pkl") }!
        return Sample(name: name, bytes: bytes, pickle: try! archive.dataRange(of: entry))
    }

    var slowest: (seconds: Double, label: String) = (0, "")
    var loaded = 0
    var refused = 0

    override func tearDown() {
        // Printed so a run shows the worst case; each parse must stay far from a hang.
        print("\(name): \(loaded) loaded, \(refused) refused; slowest \(String(format: "%.4f", slowest.seconds)) s (\(slowest.label))")
        super.tearDown()
    }

    func testFixturesAreValidBeforeMutation() throws {
        for sample in Self.samples {
            let parsed = try TorchCheckpoint.parse(ByteBuffer(copying: sample.bytes), source: sample.name)
            XCTAssertFalse(parsed.tensors.isEmpty, sample.name)
        }
    }

    func testFuzzRandomMutationsAnywhereInTheFile() {
        var random = MutationRandom(seed: 0x5AE5_C09E)
        for sample in Self.samples {
            for iteration in 0..<300 {
                var bytes = sample.bytes
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    mutate(&bytes, within: 0..<bytes.count, resizing: true, using: &random)
                }
                parse(bytes, "\(sample.name) random #\(iteration)")
            }
        }
    }

    func testFuzzMutationsInsideThePickle() {
        var random = MutationRandom(seed: 0x91C1_E000)
        for sample in Self.samples {
            // In place, so the zip stays intact and the damaged pickle reaches the machine.
            for iteration in 0..<400 {
                var bytes = sample.bytes
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    mutate(&bytes, within: sample.pickle, resizing: false, using: &random)
                }
                parse(bytes, "\(sample.name) pickle #\(iteration)")
            }
            // Resized pickles, straight into the machine.
            let pickle = Array(sample.bytes[sample.pickle])
            for iteration in 0..<200 {
                var bytes = pickle
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    mutate(&bytes, within: 0..<bytes.count, resizing: true, using: &random)
                }
                unpickle(bytes, "\(sample.name) resized pickle #\(iteration)")
            }
        }
    }

    func testFuzzTruncationAtEveryOffset() {
        for sample in Self.samples {
            // Every offset through the central directory and end records (the last KB); every 7th
            // before that, where a cut only ever loses the end record (each try scans the whole tail).
            let tail = max(0, sample.bytes.count - 1024)
            for length in Array(stride(from: 0, to: tail, by: 7)) + Array(tail..<sample.bytes.count) {
                parse(Array(sample.bytes[..<length]), "\(sample.name) cut at \(length)")
            }
            let pickle = Array(sample.bytes[sample.pickle])
            for length in 0..<pickle.count {
                unpickle(Array(pickle[..<length]), "\(sample.name) pickle cut at \(length)")
                // The same cut inside the archive: the pickle ends early, padded with zeros.
                var bytes = sample.bytes
                for position in (sample.pickle.lowerBound + length)..<sample.pickle.upperBound { bytes[position] = 0 }
                parse(bytes, "\(sample.name) zero-padded pickle cut at \(length)")
            }
        }
    }

    func testFuzzCorruptedZipSizesAndOffsets() {
        var random = MutationRandom(seed: 0x21B_0FF5)
        for sample in Self.samples {
            let fields = zipFields(in: sample.bytes)
            XCTAssertFalse(fields.isEmpty, sample.name)
            for field in fields {
                let count = UInt64(sample.bytes.count)
                let original = read(sample.bytes, at: field.offset, width: field.width)
                var values: [UInt64] = [0, 1, 0xFFFF, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF_FFFF_FFFF,
                                        0x7FFF_FFFF_FFFF_FFFF, count, count &- 1, count &+ 1, original &+ 1, original &- 1,
                                        original &+ 64, original &- 64, original << 1]
                // A seeded sample of the interesting values (all of them for every field is slow in debug builds).
                values.shuffle(using: &random)
                values = Array(values.prefix(4)) + [random.next()]
                for value in values {
                    var bytes = sample.bytes
                    write(&bytes, value, at: field.offset, width: field.width)
                    parse(bytes, "\(sample.name) zip field at \(field.offset) = \(value)")
                }
            }
        }
    }

    func testFuzzSplicedAndRandomOpcodes() {
        var random = MutationRandom(seed: 0x0BC0_DE5)
        // Fragments that make sense to the machine, to reach deep states quickly.
        let fragments: [[UInt8]] = [
            [0x28], [0x29], [0x74], [0x85], [0x86], [0x87], [0x7D], [0x5D], [0x73], [0x75], [0x61], [0x65],
            [0x52], [0x62], [0x51], [0x4E], [0x88], [0x89], [0x2E], [0x94], [0x71, 0], [0x71, 1], [0x68, 0],
            [0x68, 1], [0x6A, 0, 0, 0, 0], [0x4B, 0], [0x4B, 3], [0x4D, 0xFF, 0xFF], [0x4A, 0xFF, 0xFF, 0xFF, 0x7F],
            [0x8A, 1, 0x80], [0x8A, 8, 0, 0, 0, 0, 0, 0, 0, 0x80], [0x47, 0x7F, 0xF0, 0, 0, 0, 0, 0, 0],
            [0x58, 7, 0, 0, 0] + Array("storage".utf8), [0x8C, 7] + Array("storage".utf8), [0x8C, 1, 0x30], [0x8C, 3] + Array("cpu".utf8),
            [0x63] + Array("torch\nFloatStorage\n".utf8), [0x63] + Array("torch._utils\n_rebuild_tensor_v2\n".utf8),
            [0x63] + Array("torch._utils\n_rebuild_tensor_v3\n".utf8), [0x63] + Array("torch._utils\n_rebuild_parameter\n".utf8),
            [0x63] + Array("collections\nOrderedDict\n".utf8), [0x63] + Array("torch\nfloat32\n".utf8),
            [0x63] + Array("torch\ndevice\n".utf8), [0x63] + Array("torch.storage\nUntypedStorage\n".utf8),
            [0x8C, 5] + Array("torch".utf8), [0x8C, 12] + Array("FloatStorage".utf8), [0x93],
            [0x95, 1, 0, 0, 0, 0, 0, 0, 0], [0x80, 2], [0x80, 4], [0x43, 1, 0x41],
        ]
        for sample in Self.samples {
            let pickle = Array(sample.bytes[sample.pickle])
            for iteration in 0..<200 {
                // Splice: cut the real pickle at two points and insert random fragments between.
                let cut = Int.random(in: 0...pickle.count, using: &random)
                let resume = Int.random(in: cut...pickle.count, using: &random)
                var spliced = Array(pickle[..<cut])
                for _ in 0..<Int.random(in: 1...12, using: &random) {
                    spliced += fragments.randomElement(using: &random)!
                }
                spliced += pickle[resume...]
                unpickle(spliced, "\(sample.name) splice #\(iteration)")
                // And inside the archive, when the length allows an in-place replacement.
                if spliced.count <= sample.pickle.count {
                    var bytes = sample.bytes
                    bytes.replaceSubrange(sample.pickle.lowerBound..<(sample.pickle.lowerBound + spliced.count), with: spliced)
                    parse(bytes, "\(sample.name) splice in archive #\(iteration)")
                }
            }
        }
        for iteration in 0..<1_000 {
            var stream: [UInt8] = [0x80, 2]
            for _ in 0..<Int.random(in: 1...80, using: &random) {
                stream += fragments.randomElement(using: &random)!
            }
            stream.append(0x2E)
            unpickle(stream, "random stream #\(iteration)")
            let wrapped = TestZip.torchCheckpoint(pickle: stream, storages: ["0": [UInt8](repeating: 0x3F, count: 16)])
            parse(wrapped, "random stream in archive #\(iteration)")
        }
    }

    // MARK: Mutations

    func mutate(_ bytes: inout [UInt8], within range: Range<Int>, resizing: Bool, using random: inout MutationRandom) {
        guard !range.isEmpty else {
            if resizing { bytes.append(UInt8.random(in: 0...255, using: &random)) }
            return
        }
        let position = Int.random(in: range, using: &random)
        let interesting: [UInt8] = [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF, 0xFE, 0x28, 0x2E, 0x52, 0x51, 0x94, 0x8A, 0x58, 0x4A]
        switch Int.random(in: 0..<(resizing ? 7 : 3), using: &random) {
        case 0:
            bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &random)
        case 1:
            bytes[position] = interesting.randomElement(using: &random)!
        case 2:
            bytes[position] = UInt8.random(in: 0...255, using: &random)
        case 3:
            let insertion = (0..<Int.random(in: 1...8, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            bytes.insert(contentsOf: insertion, at: position)
        case 4:
            let end = min(bytes.count, position + Int.random(in: 1...16, using: &random))
            bytes.removeSubrange(position..<end)
        case 5:
            bytes.removeSubrange(position...)
        default:
            // Duplicate a chunk elsewhere (repeats opcodes, headers, records).
            let end = min(bytes.count, position + Int.random(in: 1...32, using: &random))
            let chunk = Array(bytes[position..<end])
            bytes.insert(contentsOf: chunk, at: Int.random(in: 0...bytes.count, using: &random))
        }
    }

    /// Offsets and widths of the zip's size, offset and count fields.
    func zipFields(in bytes: [UInt8]) -> [(offset: Int, width: Int)] {
        var fields: [(offset: Int, width: Int)] = []
        var position = 0
        while let found = TestZip.find([0x50, 0x4B], in: bytes, from: position) {
            position = found + 2
            guard found + 4 <= bytes.count else { break }
            switch (bytes[found + 2], bytes[found + 3]) {
            case (3, 4):  // local header: sizes, name and extra lengths
                fields += [(found + 8, 2), (found + 18, 4), (found + 22, 4), (found + 26, 2), (found + 28, 2)]
            case (1, 2):  // central header: method, sizes, lengths, disk, local offset
                fields += [(found + 10, 2), (found + 20, 4), (found + 24, 4), (found + 28, 2), (found + 30, 2),
                           (found + 32, 2), (found + 34, 2), (found + 42, 4)]
                let nameLength = Int(read(bytes, at: found + 28, width: 2))
                let extraStart = found + 46 + nameLength
                if read(bytes, at: found + 30, width: 2) >= 4, extraStart + 4 <= bytes.count {
                    fields += [(extraStart + 2, 2), (extraStart + 4, 8), (extraStart + 12, 8), (extraStart + 20, 8)]
                }
            case (5, 6):  // end of central directory
                fields += [(found + 4, 2), (found + 8, 2), (found + 10, 2), (found + 12, 4), (found + 16, 4), (found + 20, 2)]
            case (6, 6):  // zip64 end record
                fields += [(found + 4, 8), (found + 16, 4), (found + 24, 8), (found + 32, 8), (found + 40, 8), (found + 48, 8)]
            case (6, 7):  // zip64 locator
                fields += [(found + 4, 4), (found + 8, 8), (found + 16, 4)]
            default:
                break
            }
        }
        return fields.filter { $0.offset + $0.width <= bytes.count }
    }

    func read(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<width { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        return value
    }

    func write(_ bytes: inout [UInt8], _ value: UInt64, at offset: Int, width: Int) {
        for index in 0..<width { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
    }

    // MARK: Checks

    /// Parses a whole (damaged) checkpoint: success or a SaescopeError, quickly.
    func parse(_ bytes: [UInt8], _ label: @autoclosure () -> String) {
        timed(label) {
            do {
                let parsed = try TorchCheckpoint.parse(ByteBuffer(copying: bytes), source: "fuzz.pt")
                for tensor in parsed.tensors.values where tensor.elementCount <= 1 << 16 {
                    _ = tensor.floats()  // every byte of every view must be readable
                }
                loaded += 1
            } catch let error as SaescopeError {
                refused += 1
                if let log = Self.refusalLog { Self.append(error.message, to: log) }
            } catch {
                XCTFail("\(label()): threw \(type(of: error)) \(error), not a SaescopeError")
            }
        }
    }

    /// Runs the pickle machine alone on a (damaged) stream.
    func unpickle(_ bytes: [UInt8], _ label: @autoclosure () -> String) {
        timed(label) {
            do {
                _ = try bytes.withUnsafeBytes { try RestrictedUnpickler.unpickle($0) }
                loaded += 1
            } catch let error as SaescopeError {
                refused += 1
                if let log = Self.refusalLog { Self.append(error.message, to: log) }
            } catch {
                XCTFail("\(label()): threw \(type(of: error)) \(error), not a SaescopeError")
            }
        }
    }

    /// With SAESCOPE_FUZZ_LOG=path, every refusal is appended there (to see which checks fire).
    static let refusalLog = ProcessInfo.processInfo.environment["SAESCOPE_FUZZ_LOG"]

    static func append(_ line: String, to path: String) {
        guard let handle = FileHandle(forWritingAtPath: path) ?? {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() else { return }
        handle.seekToEndOfFile()
        handle.write(Data((line + "\n").utf8))
        handle.closeFile()
    }

    func timed(_ label: () -> String, _ body: () -> Void) {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if seconds > slowest.seconds { slowest = (seconds, label()) }
        if seconds >= 2 { XCTFail("\(label()) took \(seconds) s") }
    }
}
