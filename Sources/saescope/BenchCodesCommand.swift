import ArgumentParser
import Foundation
import SAECore

/// `saescope bench codes`: how fast `index --codes` reads a delphi latent cache, against a plain
/// sequential read of the same split files: from the page cache (as they were just written), and
/// cold (the files dropped from the page cache first).
struct BenchCodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codes",
        abstract: "index --codes on a synthetic delphi latent cache, against a plain sequential read of the same files.")

    @Option(help: "Sequences (batch rows, < 65536 so locations are uint16 as delphi writes them).") var sequences = 4096
    @Option(help: "Tokens per sequence.") var ctx = 256
    @Option(help: "Latents.") var f = 16384
    @Option(help: "Nonzero codes per token.") var l0 = 36
    @Option(help: "Splits (delphi's n_splits).") var splits = 8
    @Option(help: "Runs of each measurement, the fastest shown (other processes may share the cores).") var repeats = 3
    @Option(help: "Write the synthetic cache into this directory and keep it (to profile `index --codes` on it); nothing is measured.") var keep: String?

    func run() throws {
        guard sequences > 0, sequences < 65536, ctx > 0, ctx < 65536, f >= splits, splits > 0, l0 > 0, l0 <= f / splits * splits, repeats > 0 else {
            throw ValidationError("need 0 < sequences < 65536, 0 < ctx < 65536, splits <= f, 0 < l0 <= f, repeats > 0")
        }
        if let keep {
            let directory = (keep as NSString).appendingPathComponent("latents/layers.0")
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let written = try writeSyntheticCache(directory)
            print("wrote \(written.files.count) splits, \(written.nonzeros) nonzeros, \(written.bytes) bytes to \(directory)")
            return
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-bench-codes-\(getpid())").path
        let directory = (scratch as NSString).appendingPathComponent("latents/layers.0")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let written = try writeSyntheticCache(directory)
        let files = written.files

        let megabytes = Double(written.bytes) / 1e6
        print("cache                \(sequences) x \(ctx) tokens, F=\(f), \(l0) nonzeros per token, \(splits) splits, \(String(format: "%.0f", megabytes)) MB")
        // Wall time, and the CPU time the process used meanwhile (the machine may be shared: CPU
        // seconds show the work done whatever else runs).
        func line<T>(_ label: String, _ timing: (value: T, seconds: Double, cpu: Double), _ note: String = "") {
            print(label.padding(toLength: 28, withPad: " ", startingAt: 0)
                  + String(format: " %6.2f s  %6.0f MB/s  %6.1f M nonzeros/s  cpu %5.2f s", timing.seconds, megabytes / timing.seconds,
                           Double(written.nonzeros) / timing.seconds / 1e6, timing.cpu) + note)
        }

        // From the page cache (the files were just written).
        let warmRead = try fastest { try plainRead(files) }
        line("plain read (page cache)", warmRead)
        let grouped = try fastest { try FeatureIndexBuilder.groupCodes(try DelphiLatentCache(path: directory)) }
        line("group codes (page cache)", grouped, "  (check + group by latent, no recording)")
        let indexed = try fastest { try FeatureIndexBuilder.build(codes: try DelphiLatentCache(path: directory), sae: nil, saePath: nil, options: FeatureIndexOptions()) }
        let index = indexed.value
        line("index --codes (page cache)", indexed,
             "  (\(index.tokenCount) tokens, \((0..<index.featureCount).filter { !index.isDead($0) }.count) live features)")
        print(String(format: "index / plain read (page cache)   %.3f", warmRead.seconds / indexed.seconds))

        // Cold: the files' pages dropped from the page cache (fsync, then posix_fadvise DONTNEED)
        // before every run of the two reads, so both come from the disk.
        let coldRead = try fastest(before: { try dropFromPageCache(files) }) { try plainRead(files) }
        line("plain read (cold)", coldRead)
        let coldIndexed = try fastest(before: { try dropFromPageCache(files) }) { try FeatureIndexBuilder.build(codes: try DelphiLatentCache(path: directory), sae: nil, saePath: nil, options: FeatureIndexOptions()) }
        line("index --codes (cold)", coldIndexed)
        print(String(format: "index / plain read (cold)         %.3f", coldRead.seconds / coldIndexed.seconds))
        // What the disk adds to the index: zero when the reads hide behind the compute.
        print(String(format: "index cold - index page cache     %.2f s  (plain read cold: %.2f s)", coldIndexed.seconds - indexed.seconds, coldRead.seconds))
        guard coldIndexed.value.tokenCount == index.tokenCount, grouped.value == written.nonzeros else {
            throw SaescopeError("the passes disagree on the cache (\(grouped.value) codes grouped, \(written.nonzeros) written)", file: directory)
        }
    }

    /// The fastest of `repeats` runs of `body` (wall time), each after `before` (not timed).
    private func fastest<T>(before: () throws -> Void = {}, _ body: () throws -> T) throws -> (value: T, seconds: Double, cpu: Double) {
        var best: (value: T, seconds: Double, cpu: Double)?
        for _ in 0..<repeats {
            try before()
            let run = try timed(body)
            if best == nil || run.seconds < best!.seconds { best = run }
        }
        return best!
    }

    private func timed<T>(_ body: () throws -> T) rethrows -> (value: T, seconds: Double, cpu: Double) {
        let started = Date(), cpuStarted = TimedChild.ownCPUSeconds()
        let value = try body()
        return (value, Date().timeIntervalSince(started), TimedChild.ownCPUSeconds() - cpuStarted)
    }

    /// Reads every file sequentially in 8 MB blocks, touching each byte (a checksum), as a
    /// reader limited by the storage would. Returns the checksum.
    private func plainRead(_ files: [String]) throws -> UInt64 {
        var checksum: UInt64 = 0
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 << 20, alignment: 64)
        defer { chunk.deallocate() }
        for file in files {
            let fd = open(file, O_RDONLY)
            guard fd >= 0 else { throw SaescopeError("cannot open", file: file) }
            defer { close(fd) }
            while true {
                let n = read(fd, chunk.baseAddress, chunk.count)
                if n <= 0 { break }
                let words = UnsafeRawBufferPointer(rebasing: chunk[0..<(n & ~7)]).bindMemory(to: UInt64.self)
                for word in words { checksum ^= word }
            }
        }
        return checksum
    }

    /// Writes the files' pages back and asks the kernel to drop them from the page cache.
    private func dropFromPageCache(_ files: [String]) throws {
        for file in files {
            let fd = open(file, O_RDONLY)
            guard fd >= 0 else { throw SaescopeError("cannot open", file: file) }
            defer { close(fd) }
            fsync(fd)
            let status = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
            guard status == 0 else { throw SaescopeError("posix_fadvise(DONTNEED) failed (\(status))", file: file) }
        }
    }

    /// Writes `splits` files as delphi's save_splits does (locations uint16, activations float16,
    /// tokens int64 in every split), entries in (batch row, position) order; each token's latents
    /// are distinct, drawn with a fixed seed, values from a skewed positive distribution.
    private func writeSyntheticCache(_ directory: String) throws -> (files: [String], nonzeros: Int, bytes: Int) {
        // Locals, not the option properties: reading an @Option inside these loops goes through
        // ArgumentParser's property wrapper on every access.
        let splits = self.splits, f = self.f, sequences = self.sequences, ctx = self.ctx, l0 = self.l0
        var generator = SplitMix(state: 0x5EED)
        let boundaries = (0...splits).map { $0 * f / splits }
        var locations = [[UInt16]](repeating: [], count: splits)
        var activations = [[UInt16]](repeating: [], count: splits)
        let perSplit = sequences * ctx * l0 / splits + 1024
        for s in 0..<splits {
            locations[s].reserveCapacity(3 * perSplit)
            activations[s].reserveCapacity(perSplit)
        }
        var chosen = Set<Int>()
        for b in 0..<sequences {
            for p in 0..<ctx {
                chosen.removeAll(keepingCapacity: true)
                while chosen.count < l0 { chosen.insert(Int(generator.next() % UInt64(f))) }
                for latent in chosen.sorted() {
                    let s = boundaries.lastIndex { $0 <= latent }!
                    let u = Float(generator.next() >> 40) / Float(1 << 24)
                    let value = Float16(0.05 + 8 * u * u * u)
                    locations[s].append(contentsOf: [UInt16(b), UInt16(p), UInt16(latent - boundaries[s])])
                    activations[s].append(value.bitPattern)
                }
            }
        }
        var tokens = [Int64](repeating: 0, count: sequences * ctx)
        for i in tokens.indices { tokens[i] = Int64(generator.next() % 50_000) }
        var files: [String] = []
        var nonzeros = 0, bytes = 0
        for s in 0..<splits {
            let path = (directory as NSString).appendingPathComponent("\(boundaries[s])_\(boundaries[s + 1] - 1).safetensors")
            try Safetensors.write(arrays: [
                .init("activations", .float16, [activations[s].count], activations[s]),
                .init("locations", .uint16, [activations[s].count, 3], locations[s]),
                .init("tokens", .int64, [sequences, ctx], tokens),
            ], metadata: [:], to: path)
            files.append(path)
            nonzeros += activations[s].count
            bytes += Int((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0)
        }
        return (files, nonzeros, bytes)
    }
}

/// A small seeded generator (splitmix64) so the synthetic cache is the same on every run.
private struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
