import Foundation

/// Names a file by its content rather than its path, so that what a user attached to a
/// dictionary (its marked features) follows the weights when they are moved or copied: the
/// size, then FNV-1a 64 over the first and the last MiB. Reading two MiB at most keeps it fast
/// for multi-gigabyte weights; two files alike in size and in both ends are taken as the same
/// dictionary (training runs differ everywhere, so this does not happen by accident).
public enum ContentFingerprint {
    public static let sampleBytes = 1 << 20

    /// `"<size>-<16 hex digits>"`, or nil when the file cannot be read.
    public static func of(file path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return nil }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ data: Data) {
            for byte in data { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        }
        do {
            try handle.seek(toOffset: 0)
            mix(try handle.read(upToCount: sampleBytes) ?? Data())
            if size > UInt64(sampleBytes) {
                // The last MiB (overlapping the first for files under two MiB).
                try handle.seek(toOffset: max(UInt64(sampleBytes), size - UInt64(sampleBytes)))
                mix(try handle.read(upToCount: sampleBytes) ?? Data())
            }
        } catch {
            return nil
        }
        return "\(size)-" + String(hash, radix: 16).leftPadded(to: 16)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
